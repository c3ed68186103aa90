using System.Text.Json;
using System.Text.Json.Nodes;
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

    /// <summary>Writes a library result with the files the verb read and wrote in front of its own fields.</summary>
    public static void Write(CliConsole console, object value, params (string Name, object? Value)[] first) =>
        console.Json.WriteLine(Serialize(value, first));

    /// <summary>The JSON of <paramref name="value"/> with <paramref name="first"/> as its first fields.</summary>
    public static string Serialize(object value, params (string Name, object? Value)[] first)
    {
        var node = JsonSerializer.SerializeToNode(value, value.GetType(), Options)!.AsObject();
        var result = new JsonObject();
        foreach (var (name, v) in first) result[name] = JsonSerializer.SerializeToNode(v, Options);
        foreach (var (name, v) in node.ToList())
        {
            node.Remove(name);
            result[name] = v;
        }
        return result.ToJsonString(Options);
    }
}
