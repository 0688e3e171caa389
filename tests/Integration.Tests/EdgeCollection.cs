namespace Agents.Micro.Integration.Tests;

/// <summary>The tests that share one <see cref="EdgeFixture"/> (the processes start once).</summary>
[CollectionDefinition(Name)]
public sealed class EdgeCollection : ICollectionFixture<EdgeFixture>
{
    public const string Name = "edge";
}
