#!/usr/bin/env python3
"""Token ids from transformers' CLIPTokenizer for the Swift tokenizer's parity tests.

Builds the tokenizer from OpenAI CLIP's bpe_simple_vocab_16e6.txt.gz (the vocabulary of SD 1.x,
shipped by the PyPI package open_clip_torch 3.3.0, MIT) exactly as CLIP's SimpleTokenizer builds
its vocabulary, and writes Tests/FCSModelsTests/Fixtures/tokenizer/prompts.json: each prompt with
its unpadded ids and its pipeline ids (padding="max_length", max_length=77, truncation=True).
Also writes a small vocab.json + merges.txt (the first 2,000 merges) to test loading the
diffusers folder format, with the ids of that vocabulary.

    .venv-tools/bin/python tools/make_tokenizer_fixtures.py
"""
import gzip
import json
import os

from transformers import CLIPTokenizer

from make_tiny_models import bytes_to_unicode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/FCSModelsTests/Fixtures/tokenizer")

PROMPTS = [
    "", " ", "a photo of a cat", "A Photo Of A CAT", "  a   photo\tof\na cat  ", "a photograph of an astronaut riding a horse",
    "it's", "it's what they're doing, we've seen I'm sure you'll say he'd", "don't won't can't", "'s", "'sa", "'''",
    "1234", "3.14159", "2024-11-23", "x1y2z3", "¼ ½ ¾ ² ³", "١٢٣ (arabic digits)",
    "hello, world!", "hello,world!!!", "wait... what?!", "(masterpiece), [best quality], {detailed}", "a--b__c", "#hashtag @user",
    "café crème brûlée", "cafe\u0301 (decomposed)", "naïve façade", "Ångström", "ÉCOLE ÉTÉ", "straße", "İstanbul", "ΣΊΣΥΦΟΣ σίσυφος",
    "東京の夜景", "北京烤鸭", "한국어 텍스트", "русский текст", "עברית", "ไทย", "हिन्दी",
    "🐱 cat emoji", "👨‍👩‍👧‍👦 family", "🇫🇷 flag", "smile 😀😃😄", "a\u200bzero width",
    "&amp; &lt;b&gt;", "<html>tag</html>", "C++ and C#", "$100 & 50%", "e=mc^2", "a/b\\c|d",
    "<|startoftext|>", "<|endoftext|> after", "a <|endoftext|> b",
    "oil painting, trending on artstation, 8k, highly detailed, sharp focus, volumetric lighting",
    "a " * 100, "long " * 40 + "end",
    "the quick brown fox jumps over the lazy dog " * 5,
    "newline\r\nand\rcarriage", "tab\t\tand\u00a0nbsp", "MiXeD CaSe WoRdS", "photo_of_a_cat.png",
    "x" * 300, "supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
]


def clip_vocabulary(merges):
    symbols = list(bytes_to_unicode().values())
    symbols = symbols + [s + "</w>" for s in symbols]
    symbols += ["".join(m) for m in merges]
    symbols += ["<|startoftext|>", "<|endoftext|>"]
    return {s: i for i, s in enumerate(symbols)}


def ids_for(tokenizer):
    return [{"text": p, "ids": tokenizer(p)["input_ids"],
             "padded": tokenizer(p, padding="max_length", max_length=77, truncation=True)["input_ids"]} for p in PROMPTS]


def main():
    with gzip.open(os.path.join(ROOT, "Sources/_FCSResources/include/bpe_simple_vocab_16e6.txt.gz"), "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = [tuple(line.split()) for line in lines[1:49152 - 256 - 2 + 1]]
    tokenizer = CLIPTokenizer(vocab=clip_vocabulary(merges), merges=merges)
    cases = ids_for(tokenizer)
    assert cases[2]["ids"] == [49406, 320, 1125, 539, 320, 2368, 49407], cases[2]["ids"]
    with open(os.path.join(OUT, "prompts.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=0)

    small = merges[:2000]
    small_vocab = clip_vocabulary(small)
    small_dir = os.path.join(OUT, "small")
    os.makedirs(small_dir, exist_ok=True)
    with open(os.path.join(small_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(small_vocab, f, ensure_ascii=False)
    with open(os.path.join(small_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(" ".join(m) for m in small) + "\n")
    small_tokenizer = CLIPTokenizer(vocab=small_vocab, merges=small)
    with open(os.path.join(small_dir, "prompts.json"), "w", encoding="utf-8") as f:
        json.dump(ids_for(small_tokenizer), f, ensure_ascii=False, indent=0)
    print(f"{len(PROMPTS)} prompts; small vocabulary {len(small_vocab)} symbols")


if __name__ == "__main__":
    main()
