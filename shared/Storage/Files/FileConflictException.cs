namespace Agents.Micro.Storage.Files;

/// <summary>
/// A write would need a path to be both a file and a directory (a directory exists where the file goes, or a file
/// exists where a parent directory must be). Object storage would allow both; the local folder cannot, so neither
/// store does.
/// </summary>
public sealed class FileConflictException(string message) : Exception(message);
