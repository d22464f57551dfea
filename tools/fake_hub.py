#!/usr/bin/env python3
"""A local stand-in for the Hugging Face hub, for testing `fcs fetch` with no network: serves one
folder as repository ORG/NAME with the endpoints and headers huggingface_hub relies on
(api/models/…/revision/…, resolve/… with X-Repo-Commit, ETag / X-Linked-Etag = SHA-256 and a
redirect to a "CDN" path for .safetensors files, byte ranges). Python standard library only.

    fake_hub.py FOLDER ORG/NAME PORT_FILE [--drop-after BYTES] [--corrupt FILE]
                [--hostile CASE --plant DIR]

--drop-after cuts the first .safetensors download after BYTES bytes (to test
resuming); --corrupt serves FILE with one byte changed (to test the checksum check).

--hostile makes it a hub that tries to make its client write outside its cache, into DIR
(--plant), one CASE per run: "sha" (a commit sha that climbs out of snapshots/), "dotdot" (a
tokenizer file named tokenizer/../../…), "absolute" (a file named /DIR/…), "backslash" (a file
name with backslashes) or "etag" (an ETag that climbs out of blobs/); or "length", a download
whose Content-Length claims 9 EB (a client's arithmetic on it must not overflow). Otherwise it behaves:
it answers every resolve URL (whatever a client made of the names) so that a client that
trusts the names gets as far as writing them.
"""
import argparse
import hashlib
import json
import os
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("repository")
    parser.add_argument("port_file")
    parser.add_argument("--drop-after", type=int)
    parser.add_argument("--corrupt")
    parser.add_argument("--hostile", choices=["sha", "dotdot", "absolute", "backslash", "etag", "length"])
    parser.add_argument("--plant", help="the folder a hostile hub aims at")
    args = parser.parse_args()
    files = sorted(os.path.relpath(os.path.join(root, name), args.folder)
                   for root, _, names in os.walk(args.folder) for name in names)
    dropped = set()
    commit = COMMIT
    listed = list(files)
    # enough ../ to climb from any cache folder to /, then down into the folder aimed at
    climb = "../" * 64 + os.path.abspath(args.plant or "/nonexistent").lstrip("/")
    if args.hostile == "sha":
        commit = climb + "/planted-by-sha"
    elif args.hostile == "dotdot":
        listed.append("tokenizer/" + climb + "/planted-by-dotdot")
    elif args.hostile == "absolute":
        listed.append(os.path.abspath(args.plant) + "/planted-by-absolute")
    elif args.hostile == "backslash":
        listed.append("tokenizer/..\\..\\planted-by-backslash")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def do_HEAD(self):
            self.respond(head=True)

        def do_GET(self):
            self.respond(head=False)

        def content(self, name):
            with open(os.path.join(args.folder, name), "rb") as file:
                data = file.read()
            etag = hashlib.sha256(data).hexdigest() if name.endswith(".safetensors") else hashlib.sha1(data).hexdigest()
            if name == args.corrupt:
                data = bytes([data[0] ^ 1]) + data[1:]
            return data, etag

        def respond(self, head):
            api = f"/api/models/{args.repository}/revision/"
            resolve = f"/{args.repository}/resolve/"
            path = urllib.parse.unquote(self.path)
            if path.startswith(api):
                body = json.dumps({"id": args.repository, "sha": commit,
                                   "siblings": [{"rfilename": f} for f in listed]}).encode()
                return self.send(200, body, {"Content-Type": "application/json"}, head)
            if args.hostile and not path.startswith("/cdn/"):
                return self.hostile_file(path, head)
            if path.startswith(resolve):
                name = path[len(resolve):].split("/", 1)[1]
                if name not in files:
                    return self.send(404, b"not found", {}, head)
                return self.file(name, head)
            if path.startswith("/cdn/"):
                name = path[len("/cdn/"):]
                data, _ = self.content(name)
                start = 0
                if self.headers.get("Range", "").startswith("bytes="):
                    start = int(self.headers["Range"][6:].split("-")[0])
                    if start >= len(data):
                        return self.send(416, b"", {"Content-Range": f"bytes */{len(data)}"}, head)
                status = 206 if start else 200
                headers = {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"} if start else {}
                body = data[start:]
                if args.hostile == "length" and not head:  # claims 9 EB, sends the file and hangs up
                    self.send_response(status)
                    self.send_header("Content-Length", str(9 * 10**18))
                    self.end_headers()
                    self.wfile.write(body)
                    self.close_connection = True
                    return
                if args.drop_after and not dropped and not head:
                    dropped.add(name)
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body[:args.drop_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                return self.send(status, body, headers, head)
            self.send(404, b"not found", {}, head)

        def file(self, name, head):
            data, etag = self.content(name)
            headers = {"X-Repo-Commit": commit, "ETag": f'"{etag}"'}
            if name.endswith(".safetensors"):
                headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(data)),
                                "Location": f"/cdn/{name}"})
                return self.send(302, b"", headers, head)
            return self.send(200, data, headers, head)

        def hostile_file(self, path, head):
            """Any URL: the model's file whose name ends it, else a few bytes."""
            name = next((f for f in files if path.endswith("/" + f)), None)
            if args.hostile == "etag":
                data = self.content(name)[0] if name else b"planted\n"
                headers = {"X-Repo-Commit": commit, "ETag": f'"{climb}/planted-by-etag"'}
                return self.send(200, data, headers, head)
            if name:
                return self.file(name, head)
            data = b"planted\n"
            return self.send(200, data, {"X-Repo-Commit": commit, "ETag": f'"{hashlib.sha1(data).hexdigest()}"'}, head)

        def send(self, status, body, headers, head):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            if not head:
                self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file + ".tmp", "w") as file:
        file.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
