using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Agents.Micro.ServiceDefaults.Security;
using Agents.Micro.Storage.Files;
using static Agents.Micro.FileService.Tests.TestContent;

namespace Agents.Micro.FileService.Tests;

public sealed class S3FileApiTests(S3Fixture fixture) : FileApiTests<S3Fixture>(fixture), IClassFixture<S3Fixture>;

public sealed class LocalFileApiTests(LocalFixture fixture) : FileApiTests<LocalFixture>(fixture), IClassFixture<LocalFixture>;

/// <summary>The whole /api/v1/files API, run once against the real S3 server and once against a local folder.</summary>
public abstract class FileApiTests<TFixture>(TFixture fx) where TFixture : FileServiceFixture
{
    private const long MiB = 1024 * 1024;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..10];

    private async Task<HttpResponseMessage> UploadAsync(HttpClient client, byte[] content, string? partFileName, string? filename = null, string? dir = null, bool fieldsFirst = true) =>
        await client.PostAsync("/api/v1/files/upload", Form(content, partFileName, filename, dir, fieldsFirst), Ct);

    private static async Task<byte[]> DownloadBytesAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync("/api/v1/files/download?path=" + Uri.EscapeDataString(path), Ct);
        Assert.True(response.IsSuccessStatusCode, $"download of '{path}' answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(Ct)}");
        return await response.Content.ReadAsByteArrayAsync(Ct);
    }

    private static async Task<List<(string Name, bool IsDir, long Size, string Path)>> ListAsync(HttpClient client, string? path = null)
    {
        var response = await client.GetAsync("/api/v1/files" + (path is null ? "" : "?path=" + Uri.EscapeDataString(path)), Ct);
        var json = await JsonAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, json.ToString());
        return json.GetProperty("items").EnumerateArray()
            .Select(i => (i.GetProperty("name").GetString()!, i.GetProperty("is_dir").GetBoolean(), i.GetProperty("size").GetInt64(), i.GetProperty("path").GetString()!))
            .ToList();
    }

    [Fact]
    public async Task Upload_ThenListAndDownload_RoundTripsBytesAndSha256()
    {
        using var client = fx.ClientFor(NewUser());
        var content = Bytes(70_000);

        var response = await UploadAsync(client, content, "hello.bin", dir: "inputs");

        var json = await JsonAsync(response);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(json.GetProperty("success").GetBoolean());
        Assert.Equal("inputs/hello.bin", json.GetProperty("path").GetString());
        Assert.Equal("hello.bin", json.GetProperty("filename").GetString());
        Assert.Equal(content.Length, json.GetProperty("size").GetInt64());
        Assert.Equal(Sha256(content), json.GetProperty("sha256").GetString());

        var root = await ListAsync(client);
        Assert.Equal([("inputs", true, 0L, "inputs")], root);
        var listed = await client.GetAsync("/api/v1/files?path=inputs", Ct);
        var listing = await JsonAsync(listed);
        Assert.Equal("inputs", listing.GetProperty("base").GetString());
        var item = Assert.Single(listing.GetProperty("items").EnumerateArray());
        Assert.Equal("hello.bin", item.GetProperty("name").GetString());
        Assert.False(item.GetProperty("is_dir").GetBoolean());
        Assert.Equal(content.Length, item.GetProperty("size").GetInt64());
        Assert.Equal("inputs/hello.bin", item.GetProperty("path").GetString());
        Assert.InRange(item.GetProperty("modified_at").GetDouble(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 300, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 300);

        var download = await client.GetAsync("/api/v1/files/download?path=inputs/hello.bin", Ct);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("application/octet-stream", download.Content.Headers.ContentType?.MediaType);
        Assert.Equal(content.Length, download.Content.Headers.ContentLength);
        Assert.Equal("attachment", download.Content.Headers.ContentDisposition?.DispositionType);
        var downloaded = await download.Content.ReadAsByteArrayAsync(Ct);
        Assert.Equal(content, downloaded);
        Assert.Equal(Sha256(content), Sha256(downloaded));
    }

    [Fact]
    public async Task Upload_WithoutDir_StoresAtWorkspaceRoot_AndDownloadHasContentTypeByExtension()
    {
        using var client = fx.ClientFor(NewUser());
        var response = await UploadAsync(client, "{\"a\":1}"u8.ToArray(), "data.json");
        Assert.Equal("data.json", (await JsonAsync(response)).GetProperty("path").GetString());

        var list = await client.GetAsync("/api/v1/files?path=.", Ct);
        var json = await JsonAsync(list);
        Assert.Equal(".", json.GetProperty("base").GetString());
        Assert.Equal("data.json", Assert.Single(json.GetProperty("items").EnumerateArray()).GetProperty("path").GetString());
        var download = await client.GetAsync("/api/v1/files/download?path=data.json", Ct);
        Assert.Equal("application/json", download.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", download.Headers.GetValues("X-Content-Type-Options").Single());
    }

    [Fact]
    public async Task Upload_FilenameFieldOverridesPartName_AndFieldsAfterTheFilePartAreHonoured()
    {
        using var client = fx.ClientFor(NewUser());
        var small = Bytes(1000, seed: 2);
        var large = Bytes((int)(6 * MiB), seed: 3); // over one S3 part: staged, then copied to its final key

        var r1 = await UploadAsync(client, small, "ignored.txt", filename: "chosen.txt", dir: "after", fieldsFirst: false);
        var r2 = await UploadAsync(client, large, "big.bin", dir: "after/deep", fieldsFirst: false);

        Assert.Equal("after/chosen.txt", (await JsonAsync(r1)).GetProperty("path").GetString());
        Assert.Equal("after/deep/big.bin", (await JsonAsync(r2)).GetProperty("path").GetString());
        Assert.Equal(small, await DownloadBytesAsync(client, "after/chosen.txt"));
        Assert.Equal(large, await DownloadBytesAsync(client, "after/deep/big.bin"));
        Assert.DoesNotContain(await fx.SnapshotAsync(), s => (s.Contains("staging", StringComparison.Ordinal) && !s.EndsWith('/')) || s.StartsWith("unfinished", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Upload_SamePathAgain_ReplacesTheFile()
    {
        using var client = fx.ClientFor(NewUser());
        var v1 = Bytes(5000, seed: 10);
        var v2 = Bytes(1234, seed: 11);
        await UploadAsync(client, v1, "report.txt", dir: "docs");

        var response = await UploadAsync(client, v2, "report.txt", dir: "docs");

        Assert.Equal(Sha256(v2), (await JsonAsync(response)).GetProperty("sha256").GetString());
        Assert.Equal([("report.txt", false, 1234L, "docs/report.txt")], await ListAsync(client, "docs"));
        Assert.Equal(v2, await DownloadBytesAsync(client, "docs/report.txt"));
    }

    [Fact]
    public async Task Upload_ChineseNames_ListAndDownloadWithRfc5987Disposition()
    {
        using var client = fx.ClientFor(NewUser());
        var content = Encoding.UTF8.GetBytes("你好,世界");

        var response = await UploadAsync(client, content, "报告.txt", dir: "资料/二月");

        Assert.Equal("资料/二月/报告.txt", (await JsonAsync(response)).GetProperty("path").GetString());
        Assert.Equal([("资料", true, 0L, "资料")], await ListAsync(client));
        Assert.Equal([("报告.txt", false, content.Length, "资料/二月/报告.txt")], await ListAsync(client, "资料/二月"));
        var download = await client.GetAsync("/api/v1/files/download?path=" + Uri.EscapeDataString("资料/二月/报告.txt"), Ct);
        Assert.Equal(content, await download.Content.ReadAsByteArrayAsync(Ct));
        var disposition = download.Content.Headers.GetValues("Content-Disposition").Single();
        Assert.Contains("filename*=UTF-8''%E6%8A%A5%E5%91%8A.txt", disposition);
        Assert.Equal("报告.txt", download.Content.Headers.ContentDisposition?.FileNameStar);
    }

    [Fact]
    public async Task Upload_BrowserStyleRawUtf8FileName_IsStoredUnderThatName()
    {
        using var client = fx.ClientFor(NewUser());
        var body = "--XyZ\nContent-Disposition: form-data; name=\"file\"; filename=\"会议 纪要.md\"\nContent-Type: text/markdown\n\n# 纪要\n--XyZ--\n";

        var response = await client.PostAsync("/api/v1/files/upload", Raw(body), Ct);

        var json = await JsonAsync(response);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("会议 纪要.md", json.GetProperty("path").GetString());
        Assert.Equal(Encoding.UTF8.GetBytes("# 纪要"), await DownloadBytesAsync(client, "会议 纪要.md"));
    }

    [Fact]
    public async Task Download_Directory_StreamsZipWithNestedEntries()
    {
        using var client = fx.ClientFor(NewUser());
        var files = new Dictionary<string, byte[]>
        {
            ["proj/readme.md"] = Encoding.UTF8.GetBytes("# hi"),
            ["proj/src/main.cs"] = Bytes(3000, seed: 4),
            ["proj/src/deep/data.bin"] = Bytes(200_000, seed: 5),
            ["proj/文档/说明.txt"] = Encoding.UTF8.GetBytes("说明"),
            ["projx/not-included.txt"] = Bytes(10, seed: 6), // shares the prefix "proj" but is another directory
        };
        foreach (var (path, bytes) in files)
        {
            var slash = path.LastIndexOf('/');
            Assert.Equal(HttpStatusCode.OK, (await UploadAsync(client, bytes, path[(slash + 1)..], dir: path[..slash])).StatusCode);
        }

        var response = await client.GetAsync("/api/v1/files/download?path=proj", HttpCompletionOption.ResponseHeadersRead, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/zip", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("proj.zip", response.Content.Headers.ContentDisposition?.FileNameStar);
        using var zip = new ZipArchive(new MemoryStream(await response.Content.ReadAsByteArrayAsync(Ct)), ZipArchiveMode.Read);
        var entries = new Dictionary<string, byte[]>();
        foreach (var entry in zip.Entries)
        {
            using var s = entry.Open();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            entries[entry.FullName] = ms.ToArray();
        }
        var expected = files.Where(f => f.Key.StartsWith("proj/", StringComparison.Ordinal)).ToDictionary(f => f.Key["proj/".Length..], f => f.Value);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), entries.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, bytes) in expected) Assert.Equal(bytes, entries[name]);

        // "." is the whole workspace.
        var all = await client.GetAsync("/api/v1/files/download?path=.", Ct);
        Assert.Equal("workspace.zip", all.Content.Headers.ContentDisposition?.FileNameStar);
        using var whole = new ZipArchive(new MemoryStream(await all.Content.ReadAsByteArrayAsync(Ct)), ZipArchiveMode.Read);
        Assert.Equal(files.Keys.Order(StringComparer.Ordinal), whole.Entries.Select(e => e.FullName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Upload50MiB_StreamsWithoutHoldingTheFileInMemory_AndDownloadsIdentically()
    {
        // Over real Kestrel: this also proves the upload route lifts Kestrel's default 30 MB body limit.
        using var client = fx.ClientFor(NewUser(), fx.Kestrel());
        const long size = 50 * MiB;
        string expectedSha;
        using (var sha = SHA256.Create())
            expectedSha = Convert.ToHexStringLower(await sha.ComputeHashAsync(new PatternStream(size), Ct));

        using var sampler = new HeapSampler();
        var response = await client.PostAsync("/api/v1/files/upload", Form(new StreamContent(new PatternStream(size)), "big.bin", dir: "large"), Ct);
        var json = await JsonAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, json.ToString());
        Assert.Equal(size, json.GetProperty("size").GetInt64());
        Assert.Equal(expectedSha, json.GetProperty("sha256").GetString());

        var download = await client.GetAsync("/api/v1/files/download?path=large/big.bin", HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(size, download.Content.Headers.ContentLength);
        await using (var body = await download.Content.ReadAsStreamAsync(Ct))
        using (var sha = SHA256.Create())
            Assert.Equal(expectedSha, Convert.ToHexStringLower(await sha.ComputeHashAsync(body, Ct)));
        var growth = sampler.StopAndGetGrowth();

        // Buffering the file whole would hold ≥ 50 MiB at once; streaming holds a part buffer or two.
        Assert.True(growth < 24 * MiB, $"retained heap grew by {growth / (double)MiB:F1} MiB during a 50 MiB upload and download");

        // The directory as a zip is built while it streams, too.
        using var zipSampler = new HeapSampler();
        var zip = await client.GetAsync("/api/v1/files/download?path=large", HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal("application/zip", zip.Content.Headers.ContentType?.MediaType);
        long zipLength;
        await using (var body = await zip.Content.ReadAsStreamAsync(Ct))
        {
            zipLength = 0;
            var buffer = new byte[81920];
            int n;
            while ((n = await body.ReadAsync(buffer, Ct)) > 0) zipLength += n;
        }
        var zipGrowth = zipSampler.StopAndGetGrowth();
        Assert.True(zipLength > size, $"a zip of incompressible 50 MiB should be larger than it, got {zipLength}");
        Assert.True(zipGrowth < 24 * MiB, $"retained heap grew by {zipGrowth / (double)MiB:F1} MiB while zipping 50 MiB");
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync("/api/v1/files?path=large", Ct)).StatusCode);
    }

    public static TheoryData<string> HostileDirs =>
    [
        "../x", "..", "a/../../b", "/etc", "/", "a\\b", "a//b", "a/", "./a", "a/./b", "a\0b", "a\u0001b", "a\nb", "a\u007Fb",
        new string('d', 300), string.Join('/', Enumerable.Repeat(new string('e', 200), 5)), "\u202Egnp.exe", " lead", "trail ",
        string.Join('/', Enumerable.Repeat("z", 40)),
    ];

    [Theory]
    [MemberData(nameof(HostileDirs))]
    public async Task Upload_WithHostileDir_Returns400AndStoresNothing(string dir)
    {
        using var client = fx.ClientFor(NewUser());
        var before = await fx.SnapshotAsync();

        var response = await UploadAsync(client, Bytes(100), "x.txt", dir: dir);

        await AssertErrorAsync(response, 400);
        Assert.Equal(before, await fx.SnapshotAsync());
    }

    public static TheoryData<string> HostileFileNames =>
    [
        "../x.txt", "..", ".", "a/b.txt", "/etc/passwd", "a\\b.txt", "C:\\Windows\\win.ini", "x\0.txt", "x\u0007.txt", "x\r\n.txt",
        new string('n', 300) + ".txt", new string('名', 86), " x.txt",
    ];

    [Theory]
    [MemberData(nameof(HostileFileNames))]
    public async Task Upload_WithHostileFileName_Returns400AndStoresNothing(string name)
    {
        using var client = fx.ClientFor(NewUser());
        var before = await fx.SnapshotAsync();

        // Through the 'filename' field both before and after the file part (the latter stages content first).
        await AssertErrorAsync(await UploadAsync(client, Bytes(100), "ok.txt", filename: name), 400);
        await AssertErrorAsync(await UploadAsync(client, Bytes((int)(6 * MiB)), "ok.txt", filename: name, fieldsFirst: false), 400);

        Assert.Equal(before, await fx.SnapshotAsync());
    }

    [Theory]
    [InlineData("../x.txt")]
    [InlineData("sub/x.txt")]
    [InlineData("..")]
    public async Task Upload_WithHostilePartFileName_Returns400AndStoresNothing(string name)
    {
        using var client = fx.ClientFor(NewUser());
        var before = await fx.SnapshotAsync();
        var body = $"--XyZ\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\n\ndata\n--XyZ--\n";

        await AssertErrorAsync(await client.PostAsync("/api/v1/files/upload", Raw(body), Ct), 400);

        Assert.Equal(before, await fx.SnapshotAsync());
    }

    public static TheoryData<string> HostileQueryPaths =>
    [
        "../x", "..", "/etc/passwd", "a\\b", "a//b", "a/", "./a", "a\0b", "a\u0001b", new string('q', 300), "a/../b",
    ];

    [Theory]
    [MemberData(nameof(HostileQueryPaths))]
    public async Task ListAndDownloadAndDelete_WithHostilePath_Return400(string path)
    {
        using var client = fx.ClientFor(NewUser());
        await UploadAsync(client, Bytes(10), "keep.txt", dir: "a");
        var before = await fx.SnapshotAsync();
        var q = Uri.EscapeDataString(path);

        await AssertErrorAsync(await client.GetAsync("/api/v1/files?path=" + q, Ct), 400);
        await AssertErrorAsync(await client.GetAsync("/api/v1/files/download?path=" + q, Ct), 400);
        await AssertErrorAsync(await client.DeleteAsync("/api/v1/files?path=" + q, Ct), 400);

        Assert.Equal(before, await fx.SnapshotAsync());
    }

    public static TheoryData<string, string> MalformedForms => new()
    {
        { "no boundary", "" },
        { "no closing boundary", "--XyZ\nContent-Disposition: form-data; name=\"file\"; filename=\"t.txt\"\n\n" + new string('x', 20000) },
        { "not multipart framing at all", "just some bytes, no boundary anywhere" },
        { "fields but no file part", "--XyZ\nContent-Disposition: form-data; name=\"dir\"\n\ninputs\n--XyZ--\n" },
        { "two file parts", "--XyZ\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\n\na\n--XyZ\nContent-Disposition: form-data; name=\"file\"; filename=\"b.txt\"\n\nb\n--XyZ--\n" },
        { "unknown field", "--XyZ\nContent-Disposition: form-data; name=\"path\"\n\n../../etc\n--XyZ\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\n\na\n--XyZ--\n" },
        { "duplicate dir field", "--XyZ\nContent-Disposition: form-data; name=\"dir\"\n\nok\n--XyZ\nContent-Disposition: form-data; name=\"dir\"\n\n..\n--XyZ\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\n\na\n--XyZ--\n" },
        { "section without content-disposition", "--XyZ\nContent-Type: text/plain\n\na\n--XyZ--\n" },
        { "file part without any file name", "--XyZ\nContent-Disposition: form-data; name=\"file\"\n\na\n--XyZ--\n" },
        { "oversized part headers", "--XyZ\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\nX-Pad: " + new string('p', 10000) + "\n\na\n--XyZ--\n" },
        { "oversized dir field", "--XyZ\nContent-Disposition: form-data; name=\"dir\"\n\n" + new string('d', 5000) + "\n--XyZ\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\n\na\n--XyZ--\n" },
        { "dot-dot in a dir field after the file", "--XyZ\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\n\na\n--XyZ\nContent-Disposition: form-data; name=\"dir\"\n\n../other\n--XyZ--\n" },
    };

    [Theory]
    [MemberData(nameof(MalformedForms))]
    public async Task Upload_MalformedMultipart_Returns400AndStoresNothing(string why, string body)
    {
        using var client = fx.ClientFor(NewUser());
        var before = await fx.SnapshotAsync();
        var contentType = why == "no boundary" ? "multipart/form-data" : "multipart/form-data; boundary=XyZ";

        var response = await client.PostAsync("/api/v1/files/upload", Raw(body, contentType), Ct);

        await AssertErrorAsync(response, 400);
        Assert.Equal(before, await fx.SnapshotAsync());
    }

    [Fact]
    public async Task Upload_NotMultipart_Returns415()
    {
        using var client = fx.ClientFor(NewUser());
        var response = await client.PostAsync("/api/v1/files/upload", new StringContent("{\"file\":\"x\"}", Encoding.UTF8, "application/json"), Ct);
        await AssertErrorAsync(response, 415);
    }

    [Fact]
    public async Task Upload_OverTheLimit_Returns413AndKeepsThePreviousFile()
    {
        await using var limited = fx.With(("FileStorage:MaxUploadBytes", (6 * MiB).ToString()));
        using var client = fx.ClientFor(NewUser(), limited);
        var original = Bytes(100, seed: 20);
        await UploadAsync(client, original, "same.bin");
        var before = await fx.SnapshotAsync();

        // Just over the limit (more than one S3 part, so a multipart upload is under way when it is refused) and far over it.
        var justOver = await client.PostAsync("/api/v1/files/upload", Form(new StreamContent(new PatternStream(6 * MiB + 1)), "same.bin"), Ct);
        var farOver = await client.PostAsync("/api/v1/files/upload", Form(new StreamContent(new PatternStream(20 * MiB)), "other.bin"), Ct);

        Assert.Contains("limit", await AssertErrorAsync(justOver, 413));
        await AssertErrorAsync(farOver, 413);
        Assert.Equal(before, await fx.SnapshotAsync());
        Assert.Equal(original, await DownloadBytesAsync(client, "same.bin"));

        var exactly = await client.PostAsync("/api/v1/files/upload", Form(new StreamContent(new PatternStream(6 * MiB)), "exact.bin"), Ct);
        Assert.Equal(HttpStatusCode.OK, exactly.StatusCode);
    }

    [Fact]
    public async Task Upload_OverTheLimitOverRealKestrel_Returns413WithErrorBody()
    {
        await using var limited = fx.StartKestrel(("FileStorage:MaxUploadBytes", (6 * MiB).ToString()));
        using var client = fx.ClientFor(NewUser(), limited);
        var before = await fx.SnapshotAsync();

        // Over the file limit but within the form allowance, so the service reads the rest and the client reads the answer
        // (far larger bodies are cut at the allowance and the connection closes, as any server does).
        var response = await client.PostAsync("/api/v1/files/upload", Form(new StreamContent(new PatternStream(6 * MiB + 300_000)), "big.bin"), Ct);

        Assert.Contains("limit", await AssertErrorAsync(response, 413));
        Assert.Equal(before, await fx.SnapshotAsync());
    }

    [Fact]
    public async Task Upload_WhereADirectoryOrFileAlreadyIs_Returns409AndChangesNothing()
    {
        using var client = fx.ClientFor(NewUser());
        await UploadAsync(client, Bytes(10), "b.txt", dir: "a");
        var before = await fx.SnapshotAsync();

        await AssertErrorAsync(await UploadAsync(client, Bytes(10), "a"), 409);
        await AssertErrorAsync(await UploadAsync(client, Bytes(10), "c.txt", dir: "a/b.txt"), 409);

        Assert.Equal(before, await fx.SnapshotAsync());
    }

    [Fact]
    public async Task List_UnknownDirectoryOrAFile_Returns404_AndEmptyWorkspaceRootIsEmpty()
    {
        using var client = fx.ClientFor(NewUser());
        Assert.Empty(await ListAsync(client));
        Assert.Empty(await ListAsync(client, "."));
        await AssertErrorAsync(await client.GetAsync("/api/v1/files?path=nope", Ct), 404);
        await UploadAsync(client, Bytes(10), "f.txt");
        await AssertErrorAsync(await client.GetAsync("/api/v1/files?path=f.txt", Ct), 404);
        await AssertErrorAsync(await client.GetAsync("/api/v1/files/download?path=missing.txt", Ct), 404);
        await AssertErrorAsync(await client.GetAsync("/api/v1/files/download", Ct), 400);
    }

    [Fact]
    public async Task Delete_RemovesFileOrDirectory_AndEmptiedParentsDisappear()
    {
        using var client = fx.ClientFor(NewUser());
        await UploadAsync(client, Bytes(10), "one.txt", dir: "d/e");
        await UploadAsync(client, Bytes(10), "two.txt", dir: "d");

        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync("/api/v1/files?path=d/e/one.txt", Ct)).StatusCode);
        Assert.Equal([("two.txt", false, 10L, "d/two.txt")], await ListAsync(client, "d"));
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync("/api/v1/files?path=d", Ct)).StatusCode);
        Assert.Empty(await ListAsync(client));
        await AssertErrorAsync(await client.DeleteAsync("/api/v1/files?path=d", Ct), 404);
        await AssertErrorAsync(await client.DeleteAsync("/api/v1/files?path=.", Ct), 400);
    }

    [Fact]
    public async Task OtherUser_CannotListDownloadOverwriteOrDelete_ThroughAnyPathTrick()
    {
        var alice = NewUser();
        var bob = alice + "x"; // a user id that extends Alice's: prefix matching must not confuse them
        using var a = fx.ClientFor(alice);
        using var b = fx.ClientFor(bob);
        var secret = Encoding.UTF8.GetBytes("alice's secret");
        await UploadAsync(a, secret, "secret.txt", dir: "private");

        Assert.Empty(await ListAsync(b));
        await AssertErrorAsync(await b.GetAsync("/api/v1/files?path=private", Ct), 404);
        await AssertErrorAsync(await b.GetAsync("/api/v1/files/download?path=private/secret.txt", Ct), 404);
        await AssertErrorAsync(await b.GetAsync("/api/v1/files/download?path=private", Ct), 404);
        await AssertErrorAsync(await b.DeleteAsync("/api/v1/files?path=private/secret.txt", Ct), 404);
        foreach (var trick in new[] { $"../{alice}/private/secret.txt", $"/users/{alice}/private/secret.txt", $"../{alice}", "..", $"x/../../{alice}/private", $"..\\{alice}" })
        {
            var q = Uri.EscapeDataString(trick);
            await AssertErrorAsync(await b.GetAsync("/api/v1/files?path=" + q, Ct), 400);
            await AssertErrorAsync(await b.GetAsync("/api/v1/files/download?path=" + q, Ct), 400);
            await AssertErrorAsync(await UploadAsync(b, Bytes(5), "secret.txt", dir: trick), 400);
            await AssertErrorAsync(await UploadAsync(b, Bytes(5), "ok.txt", filename: trick), 400);
        }
        // A percent-encoded slash is decoded once, to a literal (odd but harmless) name inside Bob's own workspace.
        var encoded = await UploadAsync(b, Bytes(5), "x.txt", dir: $"..%2F{alice}");
        Assert.Equal($"..%2F{alice}/x.txt", (await JsonAsync(encoded)).GetProperty("path").GetString());
        await AssertErrorAsync(await b.GetAsync($"/api/v1/files/download?path=..%2F{alice}/private/secret.txt", Ct), 400);

        // Bob's own "private/secret.txt" is his, not Alice's; Alice still sees only her own.
        Assert.Equal([("private", true, 0L, "private")], await ListAsync(a));
        Assert.Equal(HttpStatusCode.OK, (await UploadAsync(b, Bytes(5), "secret.txt", dir: "private")).StatusCode);
        Assert.Equal(secret, await DownloadBytesAsync(a, "private/secret.txt"));
        Assert.Equal([("secret.txt", false, secret.Length, "private/secret.txt")], await ListAsync(a, "private"));

        // Identities whose user id would be a path are refused outright.
        foreach (var hostileUser in new[] { "..", $"{alice}/private", $"../{alice}", ".staging", "" })
        {
            if (hostileUser.Length == 0) continue;
            using var h = fx.ClientFor(hostileUser);
            Assert.NotEqual(HttpStatusCode.OK, (await h.GetAsync("/api/v1/files?path=.", Ct)).StatusCode);
            Assert.NotEqual(HttpStatusCode.OK, (await h.GetAsync("/api/v1/files/download?path=secret.txt", Ct)).StatusCode);
            Assert.NotEqual(HttpStatusCode.OK, (await UploadAsync(h, Bytes(5), "secret.txt", dir: "private")).StatusCode);
        }
        Assert.Equal(secret, await DownloadBytesAsync(a, "private/secret.txt"));
    }

    [Fact]
    public async Task Requests_WithoutAValidSignedIdentity_Return401()
    {
        using var none = fx.RawClient();
        using var forged = fx.RawClient();
        forged.DefaultRequestHeaders.Add(InternalIdentity.HeaderName,
            new InternalIdentity(new string('k', 40)).Sign(new CallerIdentity("mallory", false), TimeSpan.FromMinutes(5)));
        using var expired = fx.RawClient();
        expired.DefaultRequestHeaders.Add(InternalIdentity.HeaderName, fx.Identity.Sign(new CallerIdentity("late", false), TimeSpan.FromMinutes(-5)));
        using var plainUserId = fx.RawClient();
        plainUserId.DefaultRequestHeaders.Add("X-User-Id", "alice");

        foreach (var client in new[] { none, forged, expired, plainUserId })
        {
            await AssertErrorAsync(await client.GetAsync("/api/v1/files", Ct), 401);
            await AssertErrorAsync(await client.GetAsync("/api/v1/files/download?path=a.txt", Ct), 401);
            await AssertErrorAsync(await client.PostAsync("/api/v1/files/upload", Form(Bytes(5), "a.txt"), Ct), 401);
        }
    }

    [Fact]
    public async Task AgentToolWrites_AppearInListAndDownload_AndCappedTextReadsCutOnCharacters()
    {
        var user = NewUser();
        using var client = fx.ClientFor(user);
        var text = "第一行\n" + new string('好', 100);

        var written = await fx.Store.WriteTextAsync(user, WorkspacePath.Normalize("outputs/结果.md"), text, Ct);

        Assert.Equal(Sha256(Encoding.UTF8.GetBytes(text)), written.Sha256);
        Assert.Equal([("结果.md", false, Encoding.UTF8.GetByteCount(text), "outputs/结果.md")], await ListAsync(client, "outputs"));
        Assert.Equal(text, Encoding.UTF8.GetString(await DownloadBytesAsync(client, "outputs/结果.md")));
        var capped = await fx.Store.ReadTextAsync(user, "outputs/结果.md", 20, Ct);
        Assert.NotNull(capped);
        Assert.True(capped.Truncated);
        Assert.Equal("第一行\n好好好", capped.Text); // 10 + 9 bytes; the 20th byte starts a fourth 好 that is cut, so it is dropped
        var full = await fx.Store.ReadTextAsync(user, "outputs/结果.md", 100_000, Ct);
        Assert.Equal(text, full!.Text);
        Assert.False(full.Truncated);
        Assert.Null(await fx.Store.ReadTextAsync(user, "outputs/missing.md", 100, Ct));
    }

    [Fact]
    public async Task ReadinessCheck_ReportsTheFileStore()
    {
        using var client = fx.RawClient();
        var response = await client.GetAsync("/health/ready", Ct);
        var json = await JsonAsync(response);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", json.GetProperty("checks").GetProperty("file-store").GetProperty("status").GetString());
    }
}
