"""Scale-out on PyTorch's distributed runtime: a stage launched by `torchrun` (NCCL on GPUs, gloo on CPU) splits
its work across the ranks and gives the numbers one process gives. One process needs no torchrun and no group."""
