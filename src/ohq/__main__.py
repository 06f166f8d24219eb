"""`python -m ohq ...` (and `torchrun --nproc-per-node N -m ohq train ...`): the `ohq` CLI."""

from ohq.cli import main

if __name__ == "__main__":
    main()
