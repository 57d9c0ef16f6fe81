"""``legato schedule create|describe|list|update|pause|unpause|trigger|backfill|delete``.

A spec is built from repeatable flags, the union of all of them:
``--interval 1h`` (or ``1d/2h`` for an offset), ``--cron '0 9 * * MON-FRI'``,
``--calendar 'hour=9,minute=30,day_of_week=MON-FRI'`` (fields second, minute,
hour, day_of_month, month, year, day_of_week; a value may be a list, as in
``hour=9,17``: a comma starts a new field only before ``name=``). Times are
RFC 3339 (``2026-01-01T00:00:00Z``). The server checks the spec and says what
is allowed when it refuses one. ``update`` takes the same flags as ``create``
and replaces the whole schedule (state included: pass ``--paused`` to keep it
paused).
"""

from __future__ import annotations

import argparse
from datetime import datetime

from google.protobuf import json_format

from legato.api.v1 import common_pb2
from legato.api.v1 import schedule_pb2 as sp
from legato.cli.arguments import CommandGroup, Context, add_output_option, duration_arg, json_arg
from legato.cli.durations import parse_duration
from legato.cli.errors import UsageError
from legato.cli.format import format_time, render_fields, render_table
from legato.converter import PayloadConverter

_converter = PayloadConverter()
_PAGE_SIZE = 100
OVERLAP_CHOICES = {
    "skip": sp.SCHEDULE_OVERLAP_POLICY_SKIP,
    "buffer-one": sp.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
    "buffer-all": sp.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
    "cancel-other": sp.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER,
    "terminate-other": sp.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER,
    "allow-all": sp.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
}
CALENDAR_FIELDS = ("second", "minute", "hour", "day_of_month", "month", "year", "day_of_week")


def register(root: argparse._SubParsersAction, *, parents: list[argparse.ArgumentParser]) -> None:
    commands = CommandGroup(
        root,
        "schedule",
        help="create, describe, list, update, pause, unpause, trigger, backfill and delete schedules",
        parents=parents,
    )
    create = commands.add("create", create_schedule, "create a schedule that starts a workflow")
    _add_schedule_options(create)
    update = commands.add("update", update_schedule, "replace a schedule's spec, action, policies and state")
    _add_schedule_options(update)

    describe = commands.add("describe", describe_schedule, "show a schedule, its recent and next actions")
    describe.add_argument("schedule_id", metavar="SCHEDULE_ID")
    add_output_option(describe)

    listing = commands.add("list", list_schedules, "list the namespace's schedules")
    add_output_option(listing)

    for name, handler, text in (
        ("pause", pause_schedule, "pause a schedule (its times pass without actions)"),
        ("unpause", unpause_schedule, "unpause a schedule (times from now on are taken)"),
    ):
        parser = commands.add(name, handler, text)
        parser.add_argument("schedule_id", metavar="SCHEDULE_ID")
        parser.add_argument("--note", default="", help="why (shown by describe)")

    trigger = commands.add("trigger", trigger_schedule, "take the schedule's action now")
    trigger.add_argument("schedule_id", metavar="SCHEDULE_ID")
    _add_overlap(trigger, "default: the schedule's")

    backfill = commands.add(
        "backfill", backfill_schedule, "take the actions the spec has in a past time range"
    )
    backfill.add_argument("schedule_id", metavar="SCHEDULE_ID")
    backfill.add_argument("--start-time", required=True, type=_time_arg, metavar="TIME", help="inclusive")
    backfill.add_argument("--end-time", required=True, type=_time_arg, metavar="TIME", help="inclusive")
    _add_overlap(backfill, "default: the schedule's")

    delete = commands.add("delete", delete_schedule, "delete a schedule (its workflows keep running)")
    delete.add_argument("schedule_id", metavar="SCHEDULE_ID")


def _add_overlap(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--overlap", choices=list(OVERLAP_CHOICES), help=f"what to do while one still runs ({default})"
    )


def _add_schedule_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("schedule_id", metavar="SCHEDULE_ID")
    parser.add_argument("--workflow-type", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument(
        "--workflow-id", help="prefix of each started workflow's id (default: the schedule id)"
    )
    parser.add_argument(
        "--input",
        type=json_arg,
        action="append",
        default=[],
        metavar="JSON",
        help="a workflow argument; repeatable",
    )
    parser.add_argument(
        "--interval",
        action="append",
        default=[],
        metavar="EVERY[/OFFSET]",
        help="e.g. 1h or 1d/2h; repeatable",
    )
    parser.add_argument(
        "--cron", action="append", default=[], metavar="CRON", help="a cron string; repeatable"
    )
    parser.add_argument(
        "--calendar",
        action="append",
        default=[],
        metavar="FIELD=VALUE,...",
        help="e.g. 'hour=9,day_of_week=MON-FRI'",
    )
    parser.add_argument(
        "--exclude-calendar", action="append", default=[], metavar="FIELD=VALUE,...", help="times to skip"
    )
    parser.add_argument(
        "--time-zone", default="", help="IANA zone of calendars and cron strings (default UTC)"
    )
    parser.add_argument(
        "--jitter", type=duration_arg, metavar="DURATION", help="delay each action by up to this"
    )
    parser.add_argument("--start-time", type=_time_arg, metavar="TIME", help="no action before")
    parser.add_argument("--end-time", type=_time_arg, metavar="TIME", help="no action after")
    _add_overlap(parser, "default: skip")
    parser.add_argument(
        "--catchup-window",
        type=duration_arg,
        metavar="DURATION",
        help="how late a missed action may run (default 1y)",
    )
    parser.add_argument("--paused", action="store_true", help="create it paused")
    parser.add_argument("--note", default="", help="a note shown by describe")
    parser.add_argument("--remaining-actions", type=int, metavar="N", help="take only N more actions")


def _time_arg(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an RFC 3339 time like 2026-01-01T00:00:00Z, got {text!r}"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; add Z or an offset like +02:00")
    return value


def _calendar(text: str, flag: str) -> sp.CalendarSpec:
    calendar = sp.CalendarSpec()
    # Values may hold commas themselves (hour=9,17 is ambiguous), so a field is "name=value"
    # and a comma starts a new field only when the next piece names one.
    field = ""
    for piece in text.split(","):
        name, sep, value = piece.partition("=")
        if sep and name.strip() in CALENDAR_FIELDS:
            field = name.strip()
            setattr(calendar, field, value.strip())
        elif field:
            setattr(calendar, field, getattr(calendar, field) + "," + piece.strip())
        else:
            raise UsageError(
                f"{flag} {text!r}: expected FIELD=VALUE pairs; fields are " + ", ".join(CALENDAR_FIELDS)
            )
    return calendar


def _interval(text: str) -> sp.IntervalSpec:
    every, _, offset = text.partition("/")
    interval = sp.IntervalSpec()
    try:
        interval.interval.FromTimedelta(parse_duration(every))
        if offset:
            interval.phase.FromTimedelta(parse_duration(offset))
    except ValueError as error:
        raise UsageError(f"--interval {text!r}: {error}") from None
    return interval


def _schedule(args: argparse.Namespace) -> sp.Schedule:
    spec = sp.ScheduleSpec(
        interval=[_interval(text) for text in args.interval],
        cron_string=args.cron,
        calendar=[_calendar(text, "--calendar") for text in args.calendar],
        exclude_calendar=[_calendar(text, "--exclude-calendar") for text in args.exclude_calendar],
        timezone_name=args.time_zone,
    )
    if not (spec.interval or spec.cron_string or spec.calendar):
        raise UsageError("give at least one --interval, --cron or --calendar")
    if args.jitter is not None:
        spec.jitter.FromTimedelta(args.jitter)
    if args.start_time is not None:
        spec.start_time.FromDatetime(args.start_time)
    if args.end_time is not None:
        spec.end_time.FromDatetime(args.end_time)
    schedule = sp.Schedule(
        spec=spec,
        action=sp.ScheduleAction(
            start_workflow=sp.ScheduleWorkflowAction(
                workflow_id=args.workflow_id or args.schedule_id,
                workflow_type=common_pb2.WorkflowType(name=args.workflow_type),
                task_queue=common_pb2.TaskQueue(name=args.task_queue),
                input=_converter.to_payloads(args.input),
            )
        ),
        policies=sp.SchedulePolicies(overlap_policy=_overlap(args.overlap)),
        state=sp.ScheduleState(paused=args.paused, notes=args.note),
    )
    if args.catchup_window is not None:
        schedule.policies.catchup_window.FromTimedelta(args.catchup_window)
    if args.remaining_actions is not None:
        schedule.state.limited_actions = True
        schedule.state.remaining_actions = args.remaining_actions
    return schedule


def create_schedule(args: argparse.Namespace, context: Context) -> int:
    context.connection.call(
        "CreateSchedule",
        sp.CreateScheduleRequest(
            namespace=context.namespace, schedule_id=args.schedule_id, schedule=_schedule(args)
        ),
    )
    print(f"Schedule {args.schedule_id} created.")
    return 0


def update_schedule(args: argparse.Namespace, context: Context) -> int:
    context.connection.call(
        "UpdateSchedule",
        sp.UpdateScheduleRequest(
            namespace=context.namespace, schedule_id=args.schedule_id, schedule=_schedule(args)
        ),
    )
    print(f"Schedule {args.schedule_id} updated.")
    return 0


def describe_schedule(args: argparse.Namespace, context: Context) -> int:
    response = context.connection.call(
        "DescribeSchedule",
        sp.DescribeScheduleRequest(namespace=context.namespace, schedule_id=args.schedule_id),
    )
    if args.output == "json":
        print(json_format.MessageToJson(response))
        return 0
    schedule, info = response.schedule, response.info
    action = schedule.action.start_workflow
    fields = [
        ("Schedule", args.schedule_id),
        (
            "Workflow",
            f"{action.workflow_type.name} on {action.task_queue.name}, id {action.workflow_id}-<time>",
        ),
        ("Spec", _spec_text(schedule.spec)),
        ("Overlap", _overlap_label(schedule.policies.overlap_policy)),
        ("Paused", "yes" if schedule.state.paused else "no"),
        ("Notes", schedule.state.notes),
        ("Actions", str(info.action_count)),
        ("Missed (catch-up window)", str(info.missed_catchup_window)),
        ("Skipped (overlap)", str(info.overlap_skipped)),
        ("Waiting", str(info.buffer_size)),
        ("Running", ", ".join(e.workflow_id for e in info.running_workflows) or "-"),
        ("Recent", "; ".join(_action_text(a) for a in info.recent_actions) or "-"),
        ("Next", ", ".join(format_time(t) for t in info.future_action_times[:5]) or "-"),
    ]
    print(render_fields(fields))
    return 0


def list_schedules(args: argparse.Namespace, context: Context) -> int:
    entries: list[sp.ScheduleListEntry] = []
    token = b""
    while True:
        response = context.connection.call(
            "ListSchedules",
            sp.ListSchedulesRequest(
                namespace=context.namespace, maximum_page_size=_PAGE_SIZE, next_page_token=token
            ),
        )
        entries.extend(response.schedules)
        token = response.next_page_token
        if not token:
            break
    if args.output == "json":
        print("[" + ",\n".join(json_format.MessageToJson(e) for e in entries) + "]")
        return 0
    rows = [
        (
            e.schedule_id,
            e.workflow_type.name,
            _spec_text(e.spec),
            "paused" if e.paused else "active",
            format_time(e.future_action_times[0]) if e.future_action_times else "-",
        )
        for e in entries
    ]
    print(render_table(("SCHEDULE", "WORKFLOW TYPE", "SPEC", "STATE", "NEXT"), rows))
    return 0


def _patch(context: Context, schedule_id: str, patch: sp.SchedulePatch) -> None:
    context.connection.call(
        "PatchSchedule",
        sp.PatchScheduleRequest(namespace=context.namespace, schedule_id=schedule_id, patch=patch),
    )


def pause_schedule(args: argparse.Namespace, context: Context) -> int:
    _patch(context, args.schedule_id, sp.SchedulePatch(pause=args.note or "paused from the CLI"))
    print(f"Schedule {args.schedule_id} paused.")
    return 0


def unpause_schedule(args: argparse.Namespace, context: Context) -> int:
    _patch(context, args.schedule_id, sp.SchedulePatch(unpause=args.note or "unpaused from the CLI"))
    print(f"Schedule {args.schedule_id} unpaused.")
    return 0


def trigger_schedule(args: argparse.Namespace, context: Context) -> int:
    trigger = sp.TriggerImmediatelyRequest(overlap_policy=_overlap(args.overlap))
    _patch(context, args.schedule_id, sp.SchedulePatch(trigger_immediately=trigger))
    print(f"Schedule {args.schedule_id} triggered.")
    return 0


def backfill_schedule(args: argparse.Namespace, context: Context) -> int:
    request = sp.BackfillRequest(overlap_policy=_overlap(args.overlap))
    request.start_time.FromDatetime(args.start_time)
    request.end_time.FromDatetime(args.end_time)
    _patch(context, args.schedule_id, sp.SchedulePatch(backfill_request=[request]))
    print(
        f"Schedule {args.schedule_id}: backfill from {args.start_time.isoformat()} to {args.end_time.isoformat()} requested."
    )
    return 0


def delete_schedule(args: argparse.Namespace, context: Context) -> int:
    context.connection.call(
        "DeleteSchedule", sp.DeleteScheduleRequest(namespace=context.namespace, schedule_id=args.schedule_id)
    )
    print(f"Schedule {args.schedule_id} deleted.")
    return 0


def _overlap(choice: str | None) -> sp.ScheduleOverlapPolicy:
    return OVERLAP_CHOICES[choice] if choice else sp.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED


def _overlap_label(value: int) -> str:
    names = {int(number): name for name, number in OVERLAP_CHOICES.items()}
    return names.get(value, "skip")


def _spec_text(spec: sp.ScheduleSpec) -> str:
    parts = [
        f"every {i.interval.ToTimedelta()}" + (f" +{i.phase.ToTimedelta()}" if i.phase.ToTimedelta() else "")
        for i in spec.interval
    ]
    parts += [f"cron {c!r}" for c in spec.cron_string]
    parts += [
        "calendar " + ",".join(f"{f}={getattr(c, f)}" for f in CALENDAR_FIELDS if getattr(c, f))
        for c in spec.calendar
    ]
    if spec.timezone_name:
        parts.append(f"in {spec.timezone_name}")
    return "; ".join(parts)


def _action_text(action: sp.ScheduleActionResult) -> str:
    kind = " (manual)" if action.manual else ""
    return f"{format_time(action.schedule_time)} -> {action.start_workflow_result.workflow_id}{kind}"
