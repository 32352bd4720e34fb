# A notification callback for spec/ansible/run.py: every task's result, as
# the callbacks see it, written as JSON to $VG_ANSIBLE_RECORD when the play
# ends. (ansible-core has no json stdout callback; ansible.posix does.)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
name: record
type: notification
short_description: write every task result to a JSON file (spec only)
description: The results, with the task's name and status, in $VG_ANSIBLE_RECORD.
requirements: [enable in ANSIBLE_CALLBACKS_ENABLED]
"""

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.tasks = []

    def _add(self, status, result):
        self.tasks.append(dict(task=result._task.get_name(), host=result._host.get_name(),
                               status=status, result=result._result))

    def v2_runner_on_ok(self, result):
        self._add("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._add("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_skipped(self, result):
        self._add("skipped", result)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("VG_ANSIBLE_RECORD")
        if path:
            with open(path, "w") as f:
                json.dump(dict(tasks=self.tasks, stats=stats.summarize("localhost")), f, indent=1, default=str)
