using Agents.Micro.Storage.Files;

namespace Agents.Micro.AgentWorker.Tools;

/// <summary>Validates a path the model gave with the same rules as the files API.</summary>
internal static class ToolPaths
{
    public static string Normalize(string raw, bool allowRoot)
    {
        if (!WorkspacePath.TryNormalize(raw, allowRoot, out var path, out var error)) throw new ToolException($"invalid path '{raw}': {error}");
        return path;
    }
}

/// <summary><c>list_files</c>: one directory level of the user's workspace (the same store as the files API).</summary>
public sealed class ListFilesTool(IFileStore store) : IAgentTool
{
    public ToolSpec Spec { get; } = new("list_files", "List one directory of the user's workspace ('' for the root).",
        ToolArgs.Schema("""{"type":"object","properties":{"path":{"type":"string","description":"Directory relative to the workspace root"}}}"""));

    public async Task<ToolResult> ExecuteAsync(ToolContext context, JsonElement args, CancellationToken ct)
    {
        var path = ToolPaths.Normalize(ToolArgs.String(args, "path", required: false), allowRoot: true);
        var items = await store.ListAsync(context.UserId, path, ct) ?? throw new ToolException($"directory '{path}' not found");
        return new ToolResult(true, items.Count == 0 ? "(empty)" : string.Join(", ", items.Select(i => i.IsDirectory ? i.Name + "/" : $"{i.Name} ({i.Size} bytes)")));
    }
}

/// <summary><c>read_file</c>: a text file of the workspace, capped in size.</summary>
public sealed class ReadFileTool(IFileStore store) : IAgentTool
{
    public const int MaxBytes = 64 * 1024;

    public ToolSpec Spec { get; } = new("read_file", $"Read a text file of the user's workspace (first {MaxBytes / 1024} KiB).",
        ToolArgs.Schema("""{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}"""));

    public async Task<ToolResult> ExecuteAsync(ToolContext context, JsonElement args, CancellationToken ct)
    {
        var path = ToolPaths.Normalize(ToolArgs.String(args, "path"), allowRoot: false);
        var read = await store.ReadTextAsync(context.UserId, path, MaxBytes, ct) ?? throw new ToolException($"file '{path}' not found");
        return new ToolResult(true, read.Truncated ? read.Text + $"… [truncated at {MaxBytes} bytes]" : read.Text);
    }
}

/// <summary><c>write_file</c>: creates or replaces a text file in the workspace (needs approval by default).</summary>
public sealed class WriteFileTool(IFileStore store, FileQuota quota) : IAgentTool
{
    public ToolSpec Spec { get; } = new("write_file", "Create or replace a text file in the user's workspace.",
        ToolArgs.Schema("""{"type":"object","properties":{"path":{"type":"string"},"content":{"type":"string"}},"required":["path","content"]}"""));

    public async Task<ToolResult> ExecuteAsync(ToolContext context, JsonElement args, CancellationToken ct)
    {
        var path = ToolPaths.Normalize(ToolArgs.String(args, "path"), allowRoot: false);
        var content = ToolArgs.String(args, "content", required: false);
        var size = System.Text.Encoding.UTF8.GetByteCount(content);
        var check = await quota.CheckAsync(context.UserId, path, size, ct);
        if (check.Error is { } overQuota) throw new ToolException(overQuota);
        try
        {
            var r = await store.WriteTextAsync(context.UserId, path, content, ct);
            quota.Wrote(context.UserId, r.Size, check.Replaced);
            return new ToolResult(true, $"wrote {r.Path} ({r.Size} bytes)", r.Path);
        }
        catch (FileConflictException ex)
        {
            throw new ToolException(ex.Message);
        }
    }
}

/// <summary>Images of a message, read from the same workspace, for vision models.</summary>
public sealed class WorkspaceImageLoader(IFileStore store) : Runtime.IImageLoader
{
    public async Task<BinaryData?> LoadAsync(string userId, string path, CancellationToken ct)
    {
        if (!WorkspacePath.TryNormalize(path, false, out var p, out _)) return null;
        await using var f = await store.OpenReadAsync(userId, p, ct);
        if (f is null) return null;
        return await BinaryData.FromStreamAsync(f.Content, ct);
    }
}
