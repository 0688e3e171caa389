using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.ServiceDefaults.Data;

/// <summary>Which relational store a service uses: <c>postgres</c> in production, <c>sqlite</c> in the embedded default.</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    /// <summary><c>postgres</c> or <c>sqlite</c>.</summary>
    [Required, RegularExpression("(?i)^(postgres|sqlite)$")]
    public string Provider { get; set; } = "sqlite";

    /// <summary>An Npgsql connection string, or a Microsoft.Data.Sqlite one (<c>Data Source=agents.db</c>).</summary>
    [Required]
    public string ConnectionString { get; set; } = "Data Source=.data/agents.db";
}
