using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text;
using Agents.Micro.MemoryService.Search;
using Agents.Micro.ServiceDefaults.Data;
using Dapper;
using Npgsql;

namespace Agents.Micro.MemoryService.Storage;

/// <summary>
/// Memories and their inverted index in PostgreSQL or SQLite (one class, both dialects).
/// <para>
/// Tables: <c>memories</c> (the rows users see; <c>seq</c> is a compact integer key for the index),
/// <c>memory_terms</c> (postings: user, term, memory, term frequency, document length — the primary key
/// <c>(user_id, term, seq)</c> covers the scoring columns, so one query term costs one index range read),
/// <c>memory_term_stats</c> (document frequency per user and term) and <c>memory_user_stats</c> (memory count and
/// total length per user: N and the average length of BM25). The statistics are kept in the same transaction as the
/// rows, so a search never counts postings to learn them.
/// </para>
/// <para>
/// With an embeddings endpoint configured, <c>memory_vectors</c> holds each memory's unit vector and search blends
/// cosine similarity into the ranking (see <see cref="EmbeddingOptions"/>).
/// </para>
/// </summary>
public sealed class SqlMemoryStore(SqlDatabase db, IOptions<MemoryOptions> options, TimeProvider clock, EmbeddingClient? embeddings = null)
    : IMemoryStore
{
    /// <summary>Distinct query terms used at most; a longer query keeps its first terms.</summary>
    public const int MaxQueryTerms = 64;

    private SearchOptions Bm25 => options.Value.Search;

    public Task EnsureSchemaAsync(CancellationToken ct = default)
    {
        var pg = db.IsPostgres;
        return db.EnsureSchemaAsync("memory_store",
        [
            pg
                ? """
                  CREATE TABLE IF NOT EXISTS memories (
                      id TEXT PRIMARY KEY,
                      seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
                      user_id TEXT NOT NULL,
                      content TEXT NOT NULL,
                      content_sha256 TEXT NOT NULL,
                      tags JSONB NOT NULL,
                      doc_len INTEGER NOT NULL,
                      created_at DOUBLE PRECISION NOT NULL)
                  """
                : """
                  CREATE TABLE IF NOT EXISTS memories (
                      seq INTEGER PRIMARY KEY,
                      id TEXT NOT NULL UNIQUE,
                      user_id TEXT NOT NULL,
                      content TEXT NOT NULL,
                      content_sha256 TEXT NOT NULL,
                      tags TEXT NOT NULL,
                      doc_len INTEGER NOT NULL,
                      created_at DOUBLE PRECISION NOT NULL)
                  """,
            "CREATE UNIQUE INDEX IF NOT EXISTS ux_memories_user_content ON memories(user_id, content_sha256)",
            "CREATE INDEX IF NOT EXISTS ix_memories_user_created ON memories(user_id, created_at, seq)",
            // INCLUDE (PostgreSQL) / WITHOUT ROWID (SQLite): the postings are read from the index alone.
            $"""
            CREATE TABLE IF NOT EXISTS memory_terms (
                user_id TEXT NOT NULL,
                term TEXT NOT NULL,
                seq BIGINT NOT NULL,
                tf INTEGER NOT NULL,
                doc_len INTEGER NOT NULL,
                PRIMARY KEY (user_id, term, seq){(pg ? " INCLUDE (tf, doc_len))" : ") WITHOUT ROWID")}
            """,
            "CREATE INDEX IF NOT EXISTS ix_memory_terms_seq ON memory_terms(seq)",
            $"""
            CREATE TABLE IF NOT EXISTS memory_term_stats (
                user_id TEXT NOT NULL,
                term TEXT NOT NULL,
                df BIGINT NOT NULL,
                PRIMARY KEY (user_id, term)){(pg ? "" : " WITHOUT ROWID")}
            """,
            """
            CREATE TABLE IF NOT EXISTS memory_user_stats (
                user_id TEXT PRIMARY KEY,
                doc_count BIGINT NOT NULL,
                total_len BIGINT NOT NULL)
            """,
            $"""
            CREATE TABLE IF NOT EXISTS memory_vectors (
                memory_id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                vec {(pg ? "BYTEA" : "BLOB")} NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS ix_memory_vectors_user ON memory_vectors(user_id)",
        ], ct);
    }

    public async Task<SaveResult> SaveAsync(string userId, NewMemory memory, CancellationToken ct = default) =>
        (await SaveManyAsync(userId, [memory], ct))[0];

    public async Task<IReadOnlyList<SaveResult>> SaveManyAsync(string userId, IReadOnlyList<NewMemory> memories, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        if (memories.Count == 0) return [];
        var prepared = memories.Select(Prepare).ToList();
        if (embeddings is { Enabled: true })
        {
            // Outside the transaction: a slow endpoint must not hold database locks.
            foreach (var chunk in prepared.Chunk(128))
            {
                var vectors = await embeddings.EmbedAsync(chunk.Select(p => p.Content).ToList(), ct);
                if (vectors is null) break;
                for (var i = 0; i < chunk.Length; i++) chunk[i].Vector = vectors[i];
            }
        }
        return await WriteWithRetryAsync((c, tx) => SaveInTransactionAsync(c, tx, userId, prepared, ct), ct);
    }

    private sealed record Prepared(string Id, string Content, string Sha, string TagsJson, IndexedText Index)
    {
        public float[]? Vector { get; set; }
    }

    private static Prepared Prepare(NewMemory m)
    {
        var content = m.Content.Trim();
        if (content.Length == 0) throw new ArgumentException("memory content must not be empty");
        var tags = JsonSerializer.Serialize(m.Tags ?? []);
        return new Prepared("mem_" + Guid.CreateVersion7().ToString("N"), content, ContentNormalizer.Hash(content), tags, TextTokenizer.ForIndex(content));
    }

    private async Task<IReadOnlyList<SaveResult>> SaveInTransactionAsync(
        DbConnection c, DbTransaction tx, string userId, List<Prepared> items, CancellationToken ct)
    {
        if (!db.IsPostgres)
        {
            // The postings index is written in term order, i.e. all over the B-tree: SQLite's default 2 MB page cache
            // turns a large import into random I/O. The setting is per connection (pooled), so it sticks.
            await c.ExecuteAsync(new CommandDefinition("PRAGMA cache_size = -65536", transaction: tx, cancellationToken: ct));
        }

        // 1. Memories already stored under the same content are answered with their id.
        var existing = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var chunk in items.Select(p => p.Sha).Distinct().Chunk(Rows(500)))
        {
            var rows = await c.QueryAsync<(string Sha, string Id)>(new CommandDefinition(
                $"SELECT content_sha256, id FROM memories WHERE user_id = @u AND {InList("content_sha256", "shas")}",
                new { u = userId, shas = chunk }, tx, cancellationToken: ct));
            foreach (var (sha, id) in rows) existing[sha] = id;
        }

        // 2. Insert the rest (first copy wins inside the batch). ON CONFLICT covers a concurrent writer of the same content.
        var toInsert = items.Where(p => !existing.ContainsKey(p.Sha)).DistinctBy(p => p.Sha).ToList();
        var inserted = new Dictionary<string, (Prepared Item, long Seq)>(StringComparer.Ordinal);
        var now = UnixTime.Now(clock);
        foreach (var chunk in toInsert.Chunk(Rows(400)))
        {
            var p = new DynamicParameters();
            p.Add("u", userId);
            p.Add("now", now);
            var sql = new StringBuilder("INSERT INTO memories (id, user_id, content, content_sha256, tags, doc_len, created_at) VALUES ");
            for (var i = 0; i < chunk.Length; i++)
            {
                if (i > 0) sql.Append(',');
                sql.Append(CultureInfo.InvariantCulture, $"(@i{i}, @u, @c{i}, @h{i}, {db.Json($"g{i}")}, @l{i}, @now)");
                p.Add($"i{i}", chunk[i].Id);
                p.Add($"c{i}", chunk[i].Content);
                p.Add($"h{i}", chunk[i].Sha);
                p.Add($"g{i}", chunk[i].TagsJson);
                p.Add($"l{i}", chunk[i].Index.Length);
            }
            sql.Append(" ON CONFLICT (user_id, content_sha256) DO NOTHING RETURNING seq, content_sha256");
            var rows = await c.QueryAsync<(long Seq, string Sha)>(new CommandDefinition(sql.ToString(), p, tx, cancellationToken: ct));
            var bySha = chunk.ToDictionary(x => x.Sha, StringComparer.Ordinal);
            foreach (var (seq, sha) in rows) inserted[sha] = (bySha[sha], seq);
        }

        // A concurrent transaction stored some of the same contents first: use its ids.
        var lost = toInsert.Where(p => !inserted.ContainsKey(p.Sha)).Select(p => p.Sha).ToList();
        foreach (var chunk in lost.Chunk(Rows(500)))
        {
            var rows = await c.QueryAsync<(string Sha, string Id)>(new CommandDefinition(
                $"SELECT content_sha256, id FROM memories WHERE user_id = @u AND {InList("content_sha256", "shas")}",
                new { u = userId, shas = chunk }, tx, cancellationToken: ct));
            foreach (var (sha, id) in rows) existing[sha] = id;
        }

        if (inserted.Count > 0) await IndexAsync(c, tx, userId, inserted.Values.ToList(), ct);
        foreach (var (item, _) in inserted.Values.Where(v => v.Item.Vector is not null))
        {
            await c.ExecuteAsync(new CommandDefinition("INSERT INTO memory_vectors (memory_id, user_id, vec) VALUES (@id, @u, @v)",
                new { id = item.Id, u = userId, v = EmbeddingClient.ToBytes(item.Vector!) }, tx, cancellationToken: ct));
        }

        var results = new List<SaveResult>(items.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            var first = seen.Add(item.Sha);
            if (first && inserted.TryGetValue(item.Sha, out var ins)) results.Add(new SaveResult(ins.Item.Id, false));
            else if (inserted.TryGetValue(item.Sha, out var again)) results.Add(new SaveResult(again.Item.Id, true));
            else results.Add(new SaveResult(existing[item.Sha], true));
        }
        return results;
    }

    /// <summary>Writes the postings of new memories and adds them to the user's statistics.</summary>
    private async Task IndexAsync(DbConnection c, DbTransaction tx, string userId, List<(Prepared Item, long Seq)> docs, CancellationToken ct)
    {
        var postings = docs.SelectMany(d => d.Item.Index.Terms.Select(t => (Term: t.Key, d.Seq, Tf: t.Value, Len: d.Item.Index.Length)));
        foreach (var chunk in postings.Chunk(Rows(2000)))
        {
            var p = new DynamicParameters();
            p.Add("u", userId);
            var sql = new StringBuilder("INSERT INTO memory_terms (user_id, term, seq, tf, doc_len) VALUES ");
            for (var i = 0; i < chunk.Length; i++)
            {
                if (i > 0) sql.Append(',');
                sql.Append(CultureInfo.InvariantCulture, $"(@u, @t{i}, @s{i}, @f{i}, @l{i})");
                p.Add($"t{i}", chunk[i].Term);
                p.Add($"s{i}", chunk[i].Seq);
                p.Add($"f{i}", chunk[i].Tf);
                p.Add($"l{i}", chunk[i].Len);
            }
            await c.ExecuteAsync(new CommandDefinition(sql.ToString(), p, tx, cancellationToken: ct));
        }

        // Sorted, so that concurrent writers lock the statistics rows in the same order (no deadlock).
        var df = docs.SelectMany(d => d.Item.Index.Terms.Keys).GroupBy(t => t, StringComparer.Ordinal)
            .Select(g => (Term: g.Key, Count: g.Count())).OrderBy(x => x.Term, StringComparer.Ordinal);
        foreach (var chunk in df.Chunk(Rows(4000)))
        {
            var p = new DynamicParameters();
            p.Add("u", userId);
            var sql = new StringBuilder("INSERT INTO memory_term_stats (user_id, term, df) VALUES ");
            for (var i = 0; i < chunk.Length; i++)
            {
                if (i > 0) sql.Append(',');
                sql.Append(CultureInfo.InvariantCulture, $"(@u, @t{i}, @d{i})");
                p.Add($"t{i}", chunk[i].Term);
                p.Add($"d{i}", (long)chunk[i].Count);
            }
            sql.Append(" ON CONFLICT (user_id, term) DO UPDATE SET df = memory_term_stats.df + excluded.df");
            await c.ExecuteAsync(new CommandDefinition(sql.ToString(), p, tx, cancellationToken: ct));
        }

        await c.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO memory_user_stats (user_id, doc_count, total_len) VALUES (@u, @n, @len)
            ON CONFLICT (user_id) DO UPDATE SET doc_count = memory_user_stats.doc_count + excluded.doc_count,
                                               total_len = memory_user_stats.total_len + excluded.total_len
            """,
            new { u = userId, n = (long)docs.Count, len = docs.Sum(d => (long)d.Item.Index.Length) }, tx, cancellationToken: ct));
    }

    public async Task<MemoryRecord?> GetAsync(string userId, string id, CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        var row = await c.QuerySingleOrDefaultAsync<MemoryRow>(new CommandDefinition(
            $"SELECT id AS Id, user_id AS UserId, content AS Content, {db.JsonText("tags")} AS Tags, created_at AS CreatedAt FROM memories WHERE user_id = @u AND id = @id",
            new { u = userId, id }, cancellationToken: ct));
        return row?.ToRecord();
    }

    public Task<bool> DeleteAsync(string userId, string id, CancellationToken ct = default) =>
        WriteWithRetryAsync(async (c, tx) =>
        {
            var doc = await c.QuerySingleOrDefaultAsync<(long Seq, long Len)?>(new CommandDefinition(
                "DELETE FROM memories WHERE user_id = @u AND id = @id RETURNING seq, doc_len",
                new { u = userId, id }, tx, cancellationToken: ct));
            if (doc is not { } d) return false;
            var p = new { u = userId, s = d.Seq, len = d.Len };
            await c.ExecuteAsync(new CommandDefinition(
                "UPDATE memory_term_stats SET df = df - 1 WHERE user_id = @u AND term IN (SELECT term FROM memory_terms WHERE seq = @s)",
                p, tx, cancellationToken: ct));
            await c.ExecuteAsync(new CommandDefinition(
                "DELETE FROM memory_term_stats WHERE user_id = @u AND df <= 0 AND term IN (SELECT term FROM memory_terms WHERE seq = @s)",
                p, tx, cancellationToken: ct));
            await c.ExecuteAsync(new CommandDefinition("DELETE FROM memory_terms WHERE seq = @s", p, tx, cancellationToken: ct));
            await c.ExecuteAsync(new CommandDefinition("DELETE FROM memory_vectors WHERE memory_id = @id", new { id }, tx, cancellationToken: ct));
            await c.ExecuteAsync(new CommandDefinition(
                "UPDATE memory_user_stats SET doc_count = doc_count - 1, total_len = total_len - @len WHERE user_id = @u",
                p, tx, cancellationToken: ct));
            return true;
        }, ct);

    public async Task<MemoryPage> ListAsync(string userId, int limit, int offset, CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        var rows = await c.QueryAsync<MemoryRow>(new CommandDefinition(
            $"""
            SELECT id AS Id, user_id AS UserId, content AS Content, {db.JsonText("tags")} AS Tags, created_at AS CreatedAt
            FROM memories WHERE user_id = @u ORDER BY created_at DESC, seq DESC LIMIT @limit OFFSET @offset
            """,
            new { u = userId, limit, offset }, cancellationToken: ct));
        var total = await c.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT doc_count FROM memory_user_stats WHERE user_id = @u", new { u = userId }, cancellationToken: ct)) ?? 0;
        return new MemoryPage(rows.Select(r => new ScoredMemory(r.ToRecord(), null)).ToList(), total);
    }

    public async Task<MemoryPage> SearchAsync(string userId, string query, int limit, int offset, CancellationToken ct = default)
    {
        var queryVector = embeddings is { Enabled: true } ? (await embeddings.EmbedAsync([query], ct))?[0] : null;
        await using var c = await db.OpenAsync(ct);
        var stats = await c.QuerySingleOrDefaultAsync<(long Docs, long TotalLen)?>(new CommandDefinition(
            "SELECT doc_count, total_len FROM memory_user_stats WHERE user_id = @u", new { u = userId }, cancellationToken: ct));
        if (stats is not { Docs: > 0 } s) return new MemoryPage([], 0);
        if (queryVector is null) return await Bm25Async(c, userId, query, s, limit, offset, ct);

        // Hybrid: BM25's best window plus, for stores small enough to scan, the memories closest to the query vector.
        var window = (int)Math.Min(int.MaxValue, Math.Max(Bm25.RescoreWindow, (long)offset + limit));
        var lexical = await Bm25Async(c, userId, query, s, window, 0, ct);
        var e = options.Value.Embeddings;
        var ids = lexical.Items.Select(i => i.Memory.Id).ToArray();
        var vectorRows = s.Docs <= e.FullScanMaxMemories
            ? await c.QueryAsync<(string Id, byte[] Vec)>(new CommandDefinition(
                "SELECT memory_id, vec FROM memory_vectors WHERE user_id = @u", new { u = userId }, cancellationToken: ct))
            : await c.QueryAsync<(string Id, byte[] Vec)>(new CommandDefinition(
                $"SELECT memory_id, vec FROM memory_vectors WHERE user_id = @u AND {InList("memory_id", "ids")}", new { u = userId, ids }, cancellationToken: ct));
        var similarity = vectorRows.ToDictionary(r => r.Id, r => EmbeddingClient.Dot(queryVector, EmbeddingClient.FromBytes(r.Vec)), StringComparer.Ordinal);

        var lexicalIds = ids.ToHashSet(StringComparer.Ordinal);
        var extraIds = similarity.Where(kv => !lexicalIds.Contains(kv.Key) && kv.Value >= e.MinSimilarity)
            .OrderByDescending(kv => kv.Value).Take(window).Select(kv => kv.Key).ToArray();
        var extras = extraIds.Length == 0 ? [] : (await c.QueryAsync<MemoryRow>(new CommandDefinition(
            $"SELECT id AS Id, user_id AS UserId, content AS Content, {db.JsonText("tags")} AS Tags, created_at AS CreatedAt FROM memories WHERE user_id = @u AND {InList("id", "ids")}",
            new { u = userId, ids = extraIds }, cancellationToken: ct))).Select(r => r.ToRecord()).ToList();

        var maxBm25 = lexical.Items.Count > 0 ? lexical.Items.Max(i => i.Score ?? 0) : 0;
        double Blend(string id, double bm25) =>
            (1 - e.Weight) * (maxBm25 > 0 ? bm25 / maxBm25 : 0) + e.Weight * Math.Max(0, similarity.GetValueOrDefault(id));
        var blended = lexical.Items.Select(i => new ScoredMemory(i.Memory, Blend(i.Memory.Id, i.Score ?? 0)))
            .Concat(extras.Select(m => new ScoredMemory(m, Blend(m.Id, 0))))
            .OrderByDescending(i => i.Score).ThenByDescending(i => i.Memory.CreatedAt).ToList();
        return new MemoryPage(blended.Skip(offset).Take(limit).ToList(), lexical.Total + extras.Count);
    }

    private async Task<MemoryPage> Bm25Async(DbConnection c, string userId, string query, (long Docs, long TotalLen) s, int limit, int offset, CancellationToken ct)
    {
        var queryText = TextTokenizer.ForQuery(query);
        var candidates = queryText.Candidates.Take(MaxQueryTerms * 2).ToArray();
        if (candidates.Length == 0) return new MemoryPage([], 0);
        var dfs = (await c.QueryAsync<(string Term, long Df)>(new CommandDefinition(
            $"SELECT term, df FROM memory_term_stats WHERE user_id = @u AND {InList("term", "terms")} AND df > 0",
            new { u = userId, terms = candidates }, cancellationToken: ct))).ToList();
        var known = dfs.Select(d => d.Term).ToHashSet(StringComparer.Ordinal);
        var queryTerms = queryText.Resolve(known.Contains);
        dfs = dfs.Where(d => queryTerms.ContainsKey(d.Term)).OrderBy(d => d.Df).Take(MaxQueryTerms).ToList();
        if (dfs.Count == 0) return new MemoryPage([], 0);

        var plan = Bm25Plan.Create(dfs, queryTerms, s.Docs, s.TotalLen, Bm25);
        var (sql, countSql, p) = plan.ToSql(userId, limit, offset, db.JsonText("m.tags"));
        var rows = (await c.QueryAsync<MemoryRow>(new CommandDefinition(sql, p, cancellationToken: ct))).ToList();
        long total;
        if (rows.Count > 0) total = rows[0].Total;
        else if (offset == 0) total = 0;
        else total = await c.ExecuteScalarAsync<long>(new CommandDefinition(countSql, p, cancellationToken: ct));
        return new MemoryPage(rows.Select(r => new ScoredMemory(r.ToRecord(), r.Score)).ToList(), total);
    }

    /// <summary>
    /// Rows per multi-row statement. Microsoft.Data.Sqlite looks each parameter up by name (linear in the parameter count),
    /// so binding grows with the square of a statement's size there: SQLite gets short statements, which cost it nothing
    /// (no network round trip), PostgreSQL long ones.
    /// </summary>
    private int Rows(int postgresRows) => db.IsPostgres ? postgresRows : Math.Max(1, postgresRows / 20);

    /// <summary>
    /// Membership in an array parameter: Dapper hands Npgsql the array as one parameter (<c>= ANY</c>) and expands it
    /// into a list for SQLite (<c>IN</c>).
    /// </summary>
    private string InList(string column, string parameter) =>
        db.IsPostgres ? $"{column} = ANY(@{parameter})" : $"{column} IN @{parameter}";

    /// <summary>Runs a write transaction, once more if PostgreSQL picked it as a deadlock or serialization victim.</summary>
    private async Task<T> WriteWithRetryAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await db.WriteAsync(work, ct);
            }
            catch (PostgresException ex) when (attempt < 3 && ex.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
            {
                await Task.Delay(Random.Shared.Next(5, 50), ct);
            }
        }
    }

    private sealed class MemoryRow
    {
        public string Id { get; set; } = "";
        public string UserId { get; set; } = "";
        public string Content { get; set; } = "";
        public string Tags { get; set; } = "[]";
        public double CreatedAt { get; set; }
        public double? Score { get; set; }
        public long Total { get; set; }

        public MemoryRecord ToRecord() => new(Id, UserId, Content, JsonSerializer.Deserialize<List<string>>(Tags) ?? [], CreatedAt);
    }
}
