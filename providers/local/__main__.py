"""`python -m providers.local serve|start|stop|status|logs`.

`serve` runs the server in the foreground; the others manage a background one
through `daemon`. Every failure prints one `Error: ...` line and exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from providers.local import daemon
from providers.local.settings import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_URL, RUNTIMES, resolve_home, split_url


S3_HELP = "the S3 to read and write s3:// through, or 'local' to start one unless AWS_ENDPOINT_URL[_S3] names one"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m providers.local", description="The embedded local SageMaker.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server in the foreground")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--home", type=Path, default=None)
    serve.add_argument("--runtime", choices=RUNTIMES, default="process")
    serve.add_argument("--python", default=None, help="interpreter for model servers (default: this one)")
    serve.add_argument("--s3-endpoint-url", default=None, help=S3_HELP)

    for name, help_text in (
        ("start", "start a background server unless one answers"),
        ("stop", "stop the background server"),
        ("status", "tell whether a server answers"),
        ("logs", "print the background server's log"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--url", default=DEFAULT_URL)
        command.add_argument("--home", type=Path, default=None)
        if name == "start":
            command.add_argument("--runtime", choices=RUNTIMES, default="process")
            command.add_argument("--python", default=None)
            command.add_argument("--timeout", type=float, default=30.0)
            command.add_argument("--s3-endpoint-url", default=None, help=S3_HELP)
        if name == "status":
            command.add_argument("--json", action="store_true")
        if name == "logs":
            command.add_argument("-n", "--lines", type=int, default=100)
            command.add_argument("-f", "--follow", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if getattr(args, "url", None) is not None:
            split_url(args.url)
        return _run(args)
    except (daemon.DaemonError, ValueError, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    if args.command != "serve":
        split_url(args.url)  # a malformed URL is refused before anything is tried
    if args.command == "serve":
        from providers.local.server import ServerError, serve

        try:
            serve(args.host, args.port, resolve_home(args.home), args.runtime, args.python, args.s3_endpoint_url)
        except ServerError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "start":
        daemon.ensure_running(args.url, args.home, args.runtime, args.python, args.timeout, args.s3_endpoint_url)
        info = daemon.status(args.url, args.home)
        print(f"local SageMaker running at {args.url} (pid {info.get('pid')}, runtime {info.get('runtime')})")
        if info.get("s3"):
            print(f"s3:// goes to {info['s3']} (AWS_ENDPOINT_URL_S3={info['s3']} points boto3 and the AWS CLI there)")
        return 0
    if args.command == "stop":
        stopped = daemon.stop(args.url, args.home)
        print("local SageMaker stopped" if stopped else "no local SageMaker was running")
        return 0
    if args.command == "status":
        info = daemon.status(args.url, args.home)
        if args.json:
            print(json.dumps(info))
        elif info["running"]:
            details = f"pid {info.get('pid')}, runtime {info.get('runtime')}, home {info.get('home')}"
            details += f", s3 {info['s3']}" if info.get("s3") else ""
            print(f"running at {info['url']} ({details})")
        else:
            print(f"not running at {info['url']}")
        return 0 if info["running"] else 3
    return _logs(Path(daemon.status(args.url, args.home)["log"]), args.lines, args.follow)


def _logs(path: Path, lines: int, follow: bool) -> int:
    if not path.exists():
        print(f"Error: no log at {path}", file=sys.stderr)
        return 1
    with open(path, errors="replace") as handle:
        for line in handle.readlines()[-lines:]:
            sys.stdout.write(line)
        sys.stdout.flush()
        while follow:
            line = handle.readline()
            if line:
                sys.stdout.write(line)
                sys.stdout.flush()
            else:
                time.sleep(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
