namespace Agents.Micro.Deployment.Tests;

/// <summary>
/// docker-compose.yml as `docker compose up` would read it (validated and interpolated by docker-compose config). That
/// the file works — it builds, comes up healthy, routes, scales, exports telemetry — is proven by running it
/// (scripts/compose-test.sh and tests/Compose.Tests); what stays here is what a run cannot show.
/// </summary>
public sealed class ComposeFileTests
{
    public static TheoryData<string> Secrets => new(ComposeCli.RequiredVariables.Keys);

    [Theory, MemberData(nameof(Secrets))]
    public void Config_WithoutARequiredSecret_IsRefusedNamingTheVariable(string secret)
    {
        var variables = ComposeCli.RequiredVariables.Where(v => v.Key != secret).ToDictionary();

        var result = ComposeCli.Config(variables);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(secret, result.StdErr);
    }
}
