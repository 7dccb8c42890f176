"""recm.py - reading a recpipe model file (man/rec-model.5) for the NumPy
references: the manifest as a dict, and a reader of its tensors."""
import tarfile

import numpy as np


def open_model(path):
    """(manifest, get): get(name, dtype) is member name as a flat array."""
    t = tarfile.open(path)
    man = {}
    for line in t.extractfile("MANIFEST").read().decode().splitlines():
        if " = " in line:
            k, v = line.split(" = ", 1)
            man[k] = v
    return man, lambda name, dt: np.frombuffer(t.extractfile(name).read(), dtype=dt)
