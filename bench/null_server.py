"""A server that answers 201 to every request and does nothing else: the bench's clients against
it measure the harness itself (`marquez_server.harness_ceiling`)."""


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 201, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
