namespace Agents.Micro.Contracts;

/// <summary>Queue names shared by senders and consumers.</summary>
public static class QueueNames
{
    /// <summary>The competing-consumer queue every agent worker reads <see cref="RunTask"/> and <see cref="ResumeTask"/> from.</summary>
    public const string AgentTasks = "agent-tasks";

    public static readonly Uri AgentTasksAddress = new("queue:" + AgentTasks);

    /// <summary>Where <see cref="ListAgentTools"/> goes: any one worker answers.</summary>
    public const string AgentTools = "agent-tools";

    public static readonly Uri AgentToolsAddress = new("queue:" + AgentTools);
}
