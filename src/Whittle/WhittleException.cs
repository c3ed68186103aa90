namespace Whittle;

/// <summary>
/// The base of every error Whittle reports about its input: a model, data, an option value or an
/// output path that Whittle cannot use. The message is one line that names the file (when there is
/// one) and the problem, so a program can show it as is. Catch this type to tell bad input from a
/// bug; mistakes in calls to the API itself (a null argument) keep the usual
/// <see cref="ArgumentException"/> family.
/// </summary>
public class WhittleException : Exception
{
    /// <summary>Creates the exception with a one-line message.</summary>
    public WhittleException(string message) : base(message) { }

    /// <summary>Creates the exception with a one-line message and the underlying cause.</summary>
    public WhittleException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>
/// An option value is out of its range or contradicts another option. <see cref="Option"/> names
/// the option as the library spells it (e.g. <c>LearningRate</c>), so a front end can translate
/// it to its own spelling (the CLI maps it to a usage error, exit code 2).
/// </summary>
public sealed class InvalidOptionException : WhittleException
{
    /// <summary>Creates the exception for one option.</summary>
    /// <param name="option">The option's name in the library.</param>
    /// <param name="message">What is wrong with its value, naming the value.</param>
    public InvalidOptionException(string option, string message) : base(message)
    {
        Option = option;
    }

    /// <summary>The option's name in the library.</summary>
    public string Option { get; }
}
