"""Loaded (through PYTHONPATH) by the moto server the benchmark starts; see bench/moto-workarounds.ts.

moto 5.2's DynamoDB TransactWriteItems deep-copies every table it touches, once per item, to roll
back on a validation error. The copies are retained: memory grows with the square of the number
of transactions (600 two-item transactions on one table: about 1.8 GB), and a 1,000-job local
pipeline run gets moto killed by the kernel's OOM killer. The copy also races with concurrent
requests ("dictionary changed size during iteration", HTTP 500). This keeps the table itself as
the "backup" (a rollback after a validation error then keeps the partial writes; Sluice sends no
transaction that fails validation).

moto's threaded server would also let a read see an item half-way through an update; the local
emulator (local/emulator.ts) now runs every DynamoDB request alone, so this patch no longer does.
"""

import copy

try:
    from moto.dynamodb import models as _models
    from moto.dynamodb.models.table import Table as _Table
except ImportError:  # no moto in this Python: the emulator's own probe says how to install it
    _models = None

if _models is not None:

    class _TablesNotCopied:
        def __getattr__(self, name):
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value, memo=None):
            return value if isinstance(value, _Table) else copy.deepcopy(value, memo)

    _models.copy = _TablesNotCopied()
