namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>Loads an image from the user's workspace for a vision model.</summary>
public interface IImageLoader
{
    Task<BinaryData?> LoadAsync(string userId, string path, CancellationToken ct);
}
