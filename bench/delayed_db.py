"""A TCP proxy to the local PostgreSQL that delays every packet by a fixed time each way, to measure the API as if
its database were across a network (as Neon is), where the kernel's netem is not available.

    bench/.venv/bin/python bench/delayed_db.py --port 6543 --delay-ms 1 --seconds 600 &
    BENCH_PG_PORT=6543 bench/.venv/bin/python bench/ab.py ...

It listens on 127.0.0.1 only and exits by itself after --seconds.
"""

import argparse
import asyncio


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    try:
        while data := await reader.read(65536):
            loop.call_later(delay, writer.write, data)  # same delay for every packet: order is kept
    finally:
        loop.call_later(delay, writer.close)


async def serve(port: int, delay: float, seconds: float) -> None:
    async def connect(client_reader, client_writer):
        try:
            db_reader, db_writer = await asyncio.open_connection("127.0.0.1", 5432)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, db_writer, delay), pipe(db_reader, client_writer, delay))

    server = await asyncio.start_server(connect, "127.0.0.1", port)
    async with server:
        await asyncio.sleep(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=6543)
    parser.add_argument("--delay-ms", type=float, default=1.0, help="added to each direction")
    parser.add_argument("--seconds", type=float, default=600, help="stop after this long")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.delay_ms / 1000, args.seconds))


if __name__ == "__main__":
    main()
