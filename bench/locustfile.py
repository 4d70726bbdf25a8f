"""Locust user for bench.api_load: GETs one path as fast as it can (no think time)."""

import os

from locust import FastHttpUser, constant, task


class Reader(FastHttpUser):
    wait_time = constant(0)

    @task
    def read(self) -> None:
        headers = {"Authorization": os.environ["BENCH_AUTH"]} if os.environ.get("BENCH_AUTH") else {}
        self.client.get(os.environ["BENCH_PATH"], headers=headers, name="read")
