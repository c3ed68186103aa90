namespace Whittle.Zoo;

/// <summary>One row of a MobileNetV2 configuration table (Sandler et al., 2018, table 2).</summary>
/// <param name="Expansion">t: the hidden width is the input width times this (1 = no expansion convolution).</param>
/// <param name="Channels">c: output channels, before the width multiplier.</param>
/// <param name="Repeats">n: blocks in this group.</param>
/// <param name="Stride">s: stride of the group's first block (the others use 1).</param>
public sealed record InvertedResidualSetting(int Expansion, int Channels, int Repeats, int Stride);
