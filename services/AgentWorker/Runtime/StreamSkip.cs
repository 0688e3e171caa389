namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>
/// Drops the part of a repeated model stream that the client already has. A deterministic model repeats itself and the
/// stream continues seamlessly; a sampling model that says something else continues at the first character that differs.
/// </summary>
public sealed class StreamSkip(string? already)
{
    private string _rest = already ?? "";

    /// <summary>The part of <paramref name="delta"/> that is new to the client.</summary>
    public string Rest(string delta)
    {
        if (_rest.Length == 0) return delta;
        var same = 0;
        var max = Math.Min(_rest.Length, delta.Length);
        while (same < max && _rest[same] == delta[same]) same++;
        if (same == delta.Length)
        {
            _rest = _rest[same..];
            return "";
        }
        _rest = "";
        return delta[same..];
    }
}
