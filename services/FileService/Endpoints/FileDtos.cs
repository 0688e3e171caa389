namespace Agents.Micro.FileService.Endpoints;

public sealed record UploadResponse(bool Success, string Path, string Filename, long Size, string Sha256);

public sealed record ListFilesItem(string Name, bool IsDir, long Size, double ModifiedAt, string Path);

public sealed record ListFilesResponse(bool Success, string Base, IReadOnlyList<ListFilesItem> Items);

public sealed record DeleteFileResponse(bool Success, string Path);
