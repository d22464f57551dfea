#!/usr/bin/env python3
"""Fails when a Markdown file of the repository points at something that is not there.

    tools/check_links.py [FILE.md ...]      (default: every *.md file git tracks or would track)

Checked, outside code blocks: every relative link and image, [text](path) and ![alt](path),
must name an existing file or folder, and its #fragment, if any, a heading of the target
(GitHub's anchors: lower case, punctuation dropped, spaces as hyphens); and every inline code
span that is a repository path (`tools/x.py`, `docs/`, starting with a top-level folder of the
repository) must exist, so prose that names a file goes stale loudly. Web addresses are not
fetched. Standard library only: `make test` runs it on a fresh machine.
"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1", re.S | re.M)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.M)
# Characters that may not be part of a path named in prose (placeholders, globs, options).
NOT_A_PATH = re.compile(r"[\s*…<>{}$|,;:=]|\.\.\.")


def anchors(markdown):
    """The fragment each heading gets on GitHub, numbered -1, -2 … when repeated."""
    seen, result = {}, set()
    for title in HEADING.findall(FENCE.sub("", markdown)):
        title = re.sub(r"`([^`]*)`", r"\1", title)
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def check(path, top_folders):
    """The problems of one Markdown file, one line each."""
    text = path.read_text(encoding="utf-8")
    prose = FENCE.sub("", text)
    problems = []
    where = path.relative_to(ROOT)
    for target in LINK.findall(CODE_SPAN.sub("", prose)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file, _, fragment = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        if not resolved.exists():
            problems.append(f"{where}: link to {target}: {file} does not exist")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved.read_text(encoding="utf-8")):
            problems.append(f"{where}: link to {target}: no heading #{fragment} in {file or where}")
    for _, span in CODE_SPAN.findall(prose):
        span = span.strip()
        if NOT_A_PATH.search(span) or span.split("/")[0] not in top_folders or "/" not in span:
            continue
        if not (ROOT / span).exists():
            problems.append(f"{where}: `{span}` does not exist")
    return problems


def main():
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard"], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    files = [Path(f).resolve() for f in sys.argv[1:]] or [ROOT / f for f in tracked if f.endswith(".md")]
    # Build outputs (.build-release/…) are named in prose too but exist only after a build.
    top_folders = {f.split("/")[0] for f in tracked if "/" in f}
    problems = [line for f in files for line in check(f, top_folders)]
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"tools/check_links.py: {len(files)} Markdown files, every relative link, image and path resolves")


if __name__ == "__main__":
    main()
