"""The Django + Celery side of the interop tests, driven by jest: one command per call, JSON out.

    peer.py migrate
    peer.py createcachetable
    peer.py delay USER_ID MESSAGE_JSON [--kwargs] [--countdown S] [--expires S] [--serializer NAME]
    peer.py send-task NAME ARGS_JSON KWARGS_JSON
    peer.py get TASK_ID TIMEOUT [--propagate]
    peer.py rows TASK_ID...
    peer.py token USER_ID [--refresh]
    peer.py inspect METHOD [--timeout S]          app.control.inspect().METHOD()
    peer.py control METHOD ARGUMENTS_JSON         app.control.broadcast(..., reply=True)
    peer.py revoke TASK_ID [--terminate]          AsyncResult(TASK_ID).revoke()
    peer.py events-state SECONDS N_TASKS USER_ID  State fed by app.events.Receiver while N tasks run
    peer.py events-dump SECONDS                   celery -A peer events --dump, for SECONDS
"""
import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer_settings")

import django  # noqa: E402

django.setup()

from celery import Celery  # noqa: E402
from celery.result import AsyncResult  # noqa: E402

app = Celery("peer")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["notifications"])

from notifications.tasks import send_notification_task  # noqa: E402


def migrate(_):
    from django.core.management import call_command

    call_command("migrate", "django_celery_results", verbosity=0)
    return {"migrated": True}


def createcachetable(_):
    from django.core.management import call_command

    call_command("createcachetable", verbosity=0)
    return {"created": True}


def delay(opts):
    message = json.loads(opts.message)
    user_id = json.loads(opts.user_id)
    options = {}
    if opts.countdown is not None:
        options["countdown"] = opts.countdown
    if opts.expires is not None:
        options["expires"] = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=opts.expires)
    if opts.serializer:
        options["serializer"] = opts.serializer
    if opts.task_id:
        options["task_id"] = opts.task_id
    if opts.kwargs:
        result = send_notification_task.apply_async(kwargs={"user_id": user_id, "message": message}, **options)
    else:
        result = send_notification_task.apply_async((user_id, message), **options)
    return {"task_id": result.id}


def send_task(opts):
    result = app.send_task(opts.name, args=json.loads(opts.args), kwargs=json.loads(opts.kwargs), queue=os.environ["AMQP_QUEUE"])
    return {"task_id": result.id}


def describe_exception(value):
    return {"exception": type(value).__name__, "module": type(value).__module__, "args": [str(a) for a in value.args]}


def get(opts):
    result = AsyncResult(opts.task_id, app=app)
    raised = None
    try:
        value = result.get(timeout=opts.timeout, propagate=opts.propagate, interval=0.1)
    except Exception as error:  # what .get() raises for a FAILURE: the task's own exception
        if type(error).__name__ == "TimeoutError":
            raise
        value, raised = None, describe_exception(error)
    if isinstance(value, BaseException):
        value = describe_exception(value)
    return {
        "status": result.status,
        "result": value,
        "raised": raised,
        "traceback": result.traceback,
        "name": result.name,
        "args": result.args,
        "kwargs": result.kwargs,
        "worker": result.worker,
        "date_done": result.date_done.isoformat() if result.date_done else None,
    }


def rows(opts):
    from django_celery_results.models import TaskResult

    found = TaskResult.objects.filter(task_id__in=opts.task_ids).order_by("date_created")
    return [
        {
            "task_id": row.task_id,
            "status": row.status,
            "task_name": row.task_name,
            "task_args": row.task_args,
            "task_kwargs": row.task_kwargs,
            "worker": row.worker,
            "result": row.result,
            "meta": row.meta,
            "str": str(row),
            "date_created": row.date_created.isoformat(),
            "date_done": row.date_done.isoformat(),
        }
        for row in found
    ]


def token(opts):
    from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

    issued = RefreshToken() if opts.refresh else AccessToken()
    issued["user_id"] = json.loads(opts.user_id)
    return {"token": str(issued)}


def inspect(opts):
    return getattr(app.control.inspect(timeout=opts.timeout), opts.method)() or {}


def control(opts):
    return app.control.broadcast(opts.method, arguments=json.loads(opts.arguments), reply=True,
                                 timeout=opts.timeout, destination=opts.destination)


def revoke(opts):
    AsyncResult(opts.task_id, app=app).revoke(terminate=opts.terminate)
    return {"revoked": opts.task_id}


def events_state(opts):
    """What Flower builds its pages from: a State fed by a Receiver, while N tasks are sent."""
    state = app.events.State()
    ready = threading.Event()

    class Recv(app.events.Receiver):
        def on_consume_ready(self, *args, **kwargs):
            super().on_consume_ready(*args, **kwargs)
            ready.set()

    with app.connection() as conn:
        recv = Recv(conn, handlers={"*": state.event})
        thread = threading.Thread(target=lambda: recv.capture(limit=None, timeout=None, wakeup=True), daemon=True)
        thread.start()
        ready.wait(10)
        user_id = json.loads(opts.user_id)
        ids = [send_notification_task.delay(user_id, f"event {n}").id for n in range(opts.tasks)]
        if opts.failing:
            ids.append(app.send_task("billing.tasks.charge_card", args=[1], queue=os.environ["AMQP_QUEUE"]).id)
        deadline = time.time() + opts.seconds
        while time.time() < deadline:
            if all(state.tasks.get(i) is not None and state.tasks[i].ready for i in ids):
                time.sleep(2.5)  # one more heartbeat after the last task
                break
            time.sleep(0.1)
        recv.should_stop = True
        thread.join(5)
    return {
        "task_ids": ids,
        "workers": {
            name: {"alive": w.alive, "processed": w.processed, "active": w.active, "sw_ident": w.sw_ident,
                   "heartbeats": len(w.heartbeats), "loadavg": w.loadavg}
            for name, w in state.workers.items()
        },
        "tasks": {
            uuid: {"state": t.state, "name": t.name, "runtime": t.runtime, "result": t.result,
                   "hostname": t.worker.hostname if t.worker else None, "args": t.args,
                   "received": t.received, "started": t.started, "succeeded": t.succeeded}
            for uuid, t in state.tasks.items()
        },
    }


def events_dump(opts):
    """`celery -A peer events --dump` as an operator runs it, stopped with Ctrl-C after SECONDS."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "celery", "-A", "peer", "events", "--dump"]
    process = subprocess.Popen(command, cwd=os.path.dirname(os.path.abspath(__file__)), env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(opts.seconds)
    process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return {"output": output}


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate").set_defaults(run=migrate)
    commands.add_parser("createcachetable").set_defaults(run=createcachetable)
    p = commands.add_parser("delay")
    p.add_argument("user_id")
    p.add_argument("message")
    p.add_argument("--kwargs", action="store_true")
    p.add_argument("--countdown", type=float)
    p.add_argument("--expires", type=float)
    p.add_argument("--serializer")
    p.add_argument("--task-id")
    p.set_defaults(run=delay)
    p = commands.add_parser("send-task")
    p.add_argument("name")
    p.add_argument("args")
    p.add_argument("kwargs")
    p.set_defaults(run=send_task)
    p = commands.add_parser("get")
    p.add_argument("task_id")
    p.add_argument("timeout", type=float)
    p.add_argument("--propagate", action="store_true")
    p.set_defaults(run=get)
    p = commands.add_parser("rows")
    p.add_argument("task_ids", nargs="+")
    p.set_defaults(run=rows)
    p = commands.add_parser("token")
    p.add_argument("user_id")
    p.add_argument("--refresh", action="store_true")
    p.set_defaults(run=token)
    p = commands.add_parser("inspect")
    p.add_argument("method")
    p.add_argument("--timeout", type=float, default=2.0)
    p.set_defaults(run=inspect)
    p = commands.add_parser("control")
    p.add_argument("method")
    p.add_argument("arguments")
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("--destination", action="append")
    p.set_defaults(run=control)
    p = commands.add_parser("revoke")
    p.add_argument("task_id")
    p.add_argument("--terminate", action="store_true")
    p.set_defaults(run=revoke)
    p = commands.add_parser("events-state")
    p.add_argument("seconds", type=float)
    p.add_argument("tasks", type=int)
    p.add_argument("user_id")
    p.add_argument("--failing", action="store_true", help="also send a task no worker has registered")
    p.set_defaults(run=events_state)
    p = commands.add_parser("events-dump")
    p.add_argument("seconds", type=float)
    p.set_defaults(run=events_dump)
    opts = parser.parse_args()
    print(json.dumps(opts.run(opts), default=str))


if __name__ == "__main__":
    main()
