namespace Whittle.Reporting;

/// <summary>One figure of a report: a PNG drawn by ScottPlot, or a note saying why there is none.</summary>
/// <param name="Title">The figure's heading.</param>
/// <param name="Png">The image, or null when there is nothing to draw (see <paramref name="Note"/>).</param>
/// <param name="Width">Image width in CSS pixels (the PNG may hold more pixels for sharp text).</param>
/// <param name="Height">Image height in CSS pixels.</param>
/// <param name="Alt">What the image shows, in words (the <c>alt</c> text).</param>
/// <param name="Note">Why there is no image, or what the reader should know about it.</param>
internal sealed record ReportFigure(string Title, byte[]? Png, int Width, int Height, string Alt, string? Note)
{
    public static ReportFigure Missing(string title, string note) => new(title, null, 0, 0, "", note);
}
