using Agents.Micro.Gateway.Edge;

namespace Agents.Micro.Gateway.Tests;

/// <summary>The docs page's inline script is allowed by its nonce, whatever Content-Security-Policy an operator configured.</summary>
public sealed class CspNonceTests
{
    [Theory]
    [InlineData("default-src 'self'; script-src 'self'; object-src 'none'", "default-src 'self'; script-src 'self' 'nonce-N'; object-src 'none'")]
    [InlineData("script-src  https://cdn.example  'self' ;img-src *", "script-src  https://cdn.example  'self' 'nonce-N'; img-src *")]
    [InlineData("default-src 'self' https://static.example", "default-src 'self' https://static.example; script-src 'self' https://static.example 'nonce-N'")]
    [InlineData("img-src 'self'", "img-src 'self'")]
    public void Nonce_GoesToScriptSrc_OrAScriptSrcMadeFromDefaultSrc(string configured, string expected) =>
        Assert.Equal(expected, SecurityHeaders.WithScriptNonce(configured, "N"));
}
