"""Loaded (through PYTHONPATH) by the moto server the benchmark starts; see bench/moto-workarounds.ts.

moto 5.2's DynamoDB TransactWriteItems deep-copies every table it touches, once per item, to roll
back on a validation error. The copies are retained: memory grows with the square of the number
of transactions (600 two-item transactions on one table: about 1.8 GB), and a 1,000-job local
pipeline run gets moto killed by the kernel's OOM killer. The copy also races with concurrent
requests ("dictionary changed size during iteration", HTTP 500). This keeps the table itself as
the "backup" (a rollback after a validation error then keeps the partial writes; Sluice sends no
transaction that fails validation).

moto's threaded server also lets a read see an item half-way through an update (an UpdateItem's
SET applied, its ADD not yet: the job ledger's summary without its `attempts`), which DynamoDB never
shows. So every DynamoDB request runs alone, as one atomic step.
"""

import copy
import threading

try:
    from moto.dynamodb import models as _models
    from moto.dynamodb.models.table import Table as _Table
    from moto.dynamodb.responses import DynamoHandler as _Handler
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
    _call_action = _Handler.call_action
    _lock = threading.RLock()

    def _one_request_at_a_time(self, *args, **kwargs):
        with _lock:
            return _call_action(self, *args, **kwargs)

    _Handler.call_action = _one_request_at_a_time
