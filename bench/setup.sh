#!/usr/bin/env bash
# Installs what bench/ needs beyond the project's own dependencies, from Debian, idempotently:
# wrk (the request-rate limit), nginx-light (static GET/HEAD server), rclone (the Go competitor,
# 1.60), python3-matplotlib (the charts), zip (Info-ZIP). moto_server, boto3 and the aws CLI come
# from the pyenv Python (see tests/support/tools.py). nginx-light's package starts a system nginx
# on port 80; the bench runs its own on a free port.
set -euo pipefail
cd "$(dirname "$0")/.."
MIP_SETUP_EXTRA="wrk nginx-light rclone python3-matplotlib zip" scripts/setup.sh --no-build
