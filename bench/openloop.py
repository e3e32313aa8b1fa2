"""An open-loop load generator: requests leave at a fixed rate whatever the server does (wrk2 is not in Debian).

Latency is measured from the moment a request was due, not from when it was sent, so a stalled server shows up
in the tail instead of slowing the generator down (no coordinated omission). Connections are kept alive and
reused; a request that finds none idle opens another, up to `max_connections`.
"""

import asyncio
import time


class Pool:
    def __init__(self, host: str, port: int, max_connections: int):
        self.host, self.port = host, port
        self.idle: asyncio.Queue = asyncio.Queue()
        self.slots = asyncio.Semaphore(max_connections)

    async def acquire(self):
        if not self.idle.empty():
            return self.idle.get_nowait()
        await self.slots.acquire()
        try:
            return await asyncio.open_connection(self.host, self.port)
        except BaseException:
            self.slots.release()
            raise

    def release(self, conn, *, broken: bool) -> None:
        if broken:
            conn[1].close()
            self.slots.release()
        else:
            self.idle.put_nowait(conn)


async def exchange(conn, request: bytes) -> tuple[int, bool]:
    """Send one request, read the whole response; return its status and whether the server keeps the connection."""
    reader, writer = conn
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length, keep_alive = 0, True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep_alive = False  # gunicorn's sync workers close after every response
    if length:
        await reader.readexactly(length)
    return status, keep_alive


async def one(
    pool: Pool, request: bytes, due: float, timeout: float, latencies: list, errors: list, lags: list
) -> None:
    lags.append(time.perf_counter() - due)  # how late the generator itself started this request
    conn = None
    try:
        async with asyncio.timeout(timeout):
            conn = await pool.acquire()
            status, keep_alive = await exchange(conn, request)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
        errors.append(type(exc).__name__)
        if conn is not None:
            pool.release(conn, broken=True)
        return
    pool.release(conn, broken=not keep_alive)
    latencies.append(time.perf_counter() - due)
    if not 200 <= status < 300:
        errors.append(str(status))


async def run(
    *, host: str, port: int, requests: list[bytes], rate: float, seconds: float, max_connections: int = 200
) -> dict:
    """Send requests (cycling through `requests`) at `rate` per second for `seconds`; return latency stats."""
    pool = Pool(host, port, max_connections)
    latencies: list[float] = []
    errors: list[str] = []
    lags: list[float] = []
    tasks = []
    total = int(rate * seconds)
    cpu_start = time.process_time()
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(pool, requests[i % len(requests)], due, 10.0, latencies, errors, lags)))
    sending = time.perf_counter() - start
    await asyncio.gather(*tasks)
    cpu = time.process_time() - cpu_start
    while not pool.idle.empty():
        pool.idle.get_nowait()[1].close()
    latencies.sort()
    lags.sort()

    def pct(p: float, values: list[float] = latencies) -> float:
        return values[min(len(values) - 1, int(len(values) * p))] * 1000 if values else float("nan")

    return {
        "rate": rate,
        "sent": total,
        "achieved_rps": total / sending,  # the generator's own rate: below `rate` means it fell behind
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "p999_ms": pct(0.999),
        "max_ms": latencies[-1] * 1000 if latencies else float("nan"),
        # The generator's own lateness: well under the latencies measured, or it and not the server is the limit.
        "lag_p99_ms": pct(0.99, lags),
        # The generator's CPU per request: at `rate` it takes rate x this of one core away from the server.
        "client_cpu_us": cpu / total * 1e6 if total else float("nan"),
    }


def http_request(
    method: str,
    path: str,
    *,
    host: str,
    port: int,
    token: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> bytes:
    """One HTTP/1.1 request as bytes, with a bearer token, the given headers and, when given, a JSON body."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


def measure(*, host: str, port: int, requests: list[bytes], rate: float, seconds: float) -> dict:
    """Send `requests`, cycling through them, at `rate` per second for `seconds`; uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(run(host=host, port=port, requests=requests, rate=rate, seconds=seconds))
    return uvloop.run(run(host=host, port=port, requests=requests, rate=rate, seconds=seconds))
