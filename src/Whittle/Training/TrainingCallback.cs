using static TorchSharp.torch;

namespace Whittle.Training;

/// <summary>
/// Hooks into a <see cref="Trainer"/>'s loop for techniques that act during training (e.g.
/// re-applying pruning masks after every optimizer step). Every method does nothing unless
/// overridden. An exception thrown here stops the run; its last checkpoint stays as it was.
/// </summary>
public abstract class TrainingCallback
{
    /// <summary>Called before the first step of an epoch, after the module is put in training mode.</summary>
    /// <param name="module">The module being trained.</param>
    /// <param name="epoch">The epoch, 1-based.</param>
    public virtual void OnEpochStart(nn.Module<Tensor, Tensor> module, int epoch)
    {
    }

    /// <summary>Called after each optimizer step, outside the step's dispose scope.</summary>
    /// <param name="module">The module being trained.</param>
    /// <param name="progress">Where the run is, with the step's loss and learning rate.</param>
    public virtual void OnStepEnd(nn.Module<Tensor, Tensor> module, TrainingProgress progress)
    {
    }

    /// <summary>Called after an epoch's validation, checkpoint and history are written.</summary>
    /// <param name="module">The module being trained.</param>
    /// <param name="record">The epoch's row of the history.</param>
    public virtual void OnEpochEnd(nn.Module<Tensor, Tensor> module, EpochRecord record)
    {
    }
}
