using Whittle.Evaluation;

namespace Whittle.Training;

/// <summary>How a module does on a labeled dataset, measured in eval mode without gradients.</summary>
/// <param name="Loss">Mean loss per sample.</param>
/// <param name="Accuracy">Fraction of samples classified correctly.</param>
/// <param name="MacroF1">Unweighted mean F1 over all the dataset's classes.</param>
/// <param name="Report">Per-class precision, recall and F1, and the confusion matrix.</param>
public sealed record EvaluationResult(double Loss, double Accuracy, double MacroF1, ClassificationReport Report);
