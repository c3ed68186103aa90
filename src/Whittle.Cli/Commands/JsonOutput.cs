using System.Text.Json;
using System.Text.Json.Serialization;

namespace Whittle.Cli.Commands;

/// <summary>The one JSON style of every <c>--json</c> output: camelCase, indented, enums as strings.</summary>
internal static class JsonOutput
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static void Write(CliConsole console, object value) =>
        console.Json.WriteLine(JsonSerializer.Serialize(value, Options));
}
