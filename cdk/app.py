#!/usr/bin/env python3
"""Entry point of `npx cdk …` (cdk.json's "app"): build the stacks and synthesize."""

import sys

from aws_cdk import App
from plattr_cdk.app import build
from plattr_cdk.config import ContextError


def main() -> int:
    app = App()
    try:
        build(app)
    except ContextError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
