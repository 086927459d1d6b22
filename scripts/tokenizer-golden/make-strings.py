#!/usr/bin/env python3
"""Writes strings.jsonl: the varied test strings for the tokenizer goldens.

Hand-written cases first, then seeded random mixtures of character classes
(deterministic: the same file every run). Run: python3 make-strings.py > strings.jsonl
"""
import json
import random

S = []
def add(*xs):
    S.extend(xs)

# Plain English, punctuation, contractions.
add("Hello world", "Hello, world!", "The quick brown fox jumps over the lazy dog.",
    "I'm sure you'll see they're here, we've done it, she'd go, it's his, don't",
    "I'M SURE YOU'LL SEE THEY'RE HERE, WE'VE DONE IT, SHE'D GO, IT'S HIS, DON'T",
    "You'Ll 'Re 'rE 'Ve 'vE 'M 'D 'S 'T 'LL 'll 'lL",
    "x'sun", " 'sun", "'s", "'", "''", "'''s", "a'", "rock'n'roll", "O'Neill's",
    "don’t it’s we’ll", "‘quoted’ “double”", "x'ſun", "'ſ", "'K", "'ll'll's",
    "y'all'd've", "'S'T'RE'VE'M'LL'D", "3's 4'll",
    "Mr. Smith went to Washington.", "e.g. i.e. etc...", "Wait---what?!", "(parenthetical)", "[brackets] {braces}",
    "$100 and 50% off #hashtag @mention", "a+b=c; d-e*f/g", "\"quoted\" and 'single'",
    "end.", ".start", "...", "?!?!", "a.b.c", "trailing space ", " leading space", "  two leading",
    )
# Whitespace runs, newlines, tabs.
add(" ", "  ", "   ", "\n", "\n\n", "\r\n", "\r\n\r\n", "\t", "\t\t", " \n", "\n ", " \n ", "  \n  foo",
    "a   b", "a \t b", "a\tb", "a\t\tb", "a\nb", "a\n\nb", "a\n \nb", "a \n b", "a\r\nb", "a\rb",
    "line1\nline2\n", "para one.\n\npara two.\n\n\n", "end with spaces   ", "end with newline\n",
    "\n\n\nx", "   x", "x   ", " \t\n\r\x0b\x0c", "a\x0bb\x0cc", "a\u00a0b", "a\u00a0\u00a0b", "\u00a0word",
    "a\u2003b", "a\u3000b", "a\u2028b", "a\u2029b", "a\u0085b", "\u0085word", "a\u200bb", "a\ufeffb",
    "a\u180eb", "a\x1cb\x1fc", "a\u202fb\u205fc", "a\u1680b", ".\n\n", "!\n", " .\n\n\n", "x.\r\n",
    "    def f():\n        return 1\n", "\t\tindented\n\t\ttext", "word \n\n word", "  \n\n  ",
    )
# Digits and numbers.
add("2024", "1", " 1", "12345678901234567890", "3.14159", "1,000,000", "v1.2.3", "0x1F", "1e-10",
    "Room 101, floor 7", "phone: +1 (555) 123-4567", "²³ ½ ¾ Ⅻ ① ⑳", "０１２３ fullwidth", "٠١٢٣٤ Arabic-Indic",
    "१२३ Devanagari digits", "๑๒๓ Thai digits", "abc123def", "123abc", "a1b2c3", " 42 ", "x²", "H₂O", "10km/h",
    )
# Code.
add("def foo(bar):\n    return bar * 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}",
    "if x == 1 && y != 2 || !z { return; }", "console.log(`template ${x}`);", "#include <stdio.h>\nint main(void) { return 0; }",
    "SELECT * FROM users WHERE id = 42;", "<div class=\"x\">Hi</div>", "{\"key\": [1, 2, {\"n\": null}]}",
    "a->b; c::d; e=>f; g<=h; i>=j; k!==l", "x += 1\ny -= 2\n", "// comment\n/* block */", "# python comment\nimport os",
    "fn main() { println!(\"hi\"); }", "https://example.com/path?q=1&r=two#frag", "user@example.com", "C:\\Users\\name\\file.txt",
    "snake_case_name camelCaseName PascalCase SCREAMING_CASE", "__init__ __dunder__", "$ ls -la | grep foo > out.txt",
    "\\boxed{42}", "\\mask{the answer}", "[mask] is [mask]", "\\frac{1}{2} + \\sqrt{x^2}", "$$E = mc^2$$",
    )
# Scripts: CJK, Devanagari, Thai, Arabic, Hebrew, Cyrillic, Greek, Korean, Japanese.
add("你好，世界！", "我爱自然语言处理。", "中文 English 混合 text", "日本語のテキストです。", "カタカナとひらがな",
    "한국어 텍스트입니다", "Привет, мир!", "Ελληνικά γράμματα", "שלום עולם", "مرحبا بالعالم", "السَّلَامُ عَلَيْكُمْ",
    "नमस्ते दुनिया", "हिन्दी में लिखा गया वाक्य।", "สวัสดีชาวโลก", "ภาษาไทยไม่มีช่องว่าง", "ქართული", "Հայերեն", "ᚠᚢᚦᚨᚱᚲ",
    "Tiếng Việt có dấu", "Ñandú pingüino café", "naïve façade résumé", "Straße ß ẞ", "İstanbul ıi", "ǅemal ǈ ǋ",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙", "𠀀𠀁 CJK ext B", "ｆｕｌｌｗｉｄｔｈ", "ﬁ ﬂ ligatures",
    )
# Combining marks and NFC cases.
add("e\u0301", "cafe\u0301", "A\u030a", "\u212b", "\u00c5", "n\u0303", "a\u0308\u0301", "\u1e9b\u0323", "x\u0338",
    ">\u0338", "=\u0338", "\u0915\u093c", "\uac00", "\u1100\u1161", "\u1100\u1161\u11a8", "\u0041\u030a\u0301",
    "o\u0302\u0323", "\u0301start", " \u0301", "a \u0301b", "\u0300\u0301\u0302", "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u0334\u0335\u031c\u0330\u0354\u036b\u0357\u0362L\u0320\u0368\u0367\u0369\u0358G\u0334\u033b\u0348\u034d\u0354\u0339\u0311\u0357\u030e\u0305\u035b\u0301\u01ea\u0335\u0339\u033b\u031d\u0333\u0342\u030c\u030c\u0358",
    "\u2126", "\u00b5\u03bc", "\uf900\uf901", "\u0958", "\u2000\u2001",
    )
# Emoji incl. ZWJ sequences, flags, skin tones, variation selectors.
add("😀", "I love 🍕 and 🍺!", "👨‍👩‍👧‍👦 family", "👍🏽 thumbs", "🇺🇸🇯🇵 flags", "❤️ heart", "☺︎ text style",
    "🏳️‍🌈", "🧑🏿‍💻 coder", "emoji😀in😀words", "😀😀😀😀😀", " 😀", "1️⃣ keycap", "🫠🫡 newer emoji", "🩷 pink heart",
    )
# Special-token text and byte-level look-alikes.
add("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n", "<|endoftext|>", "<|endoftext|><|endoftext|>",
    "text<|endoftext|>more", "<think>\nreasoning\n</think>\n\nanswer", "<think></think>", "<tool_call>{\"a\":1}</tool_call>",
    "<|im_end|>\u0338", "<|im_end|", "|im_end|>", "<|im_end|>>", "<<|im_end|>", "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>",
    "<|vision_start|><|image_pad|><|vision_end|>", "<|box_start|>(1,2)<|box_end|>", " <|im_end|> ", "\n<|im_end|>\n",
    "<|im_start|><|im_end|>", "<|unknown_token|>", "<|", "|>", "<>", "</think >", "<think>x", "x<think>",
    "Ġ", "Ċ", "ĠĠ", "ĠhelloĊworld", "Ā ā ġ Ł", "ÿ þ ¡", "\u00ad soft hyphen", "\u0100\u0101\u0120\u0143",
    )
# Controls and odd inputs.
add("\x00", "a\x00b", "\x01\x02\x03", "\x7f", "\x1b[31mred\x1b[0m", "\ufffd", "\ufffd\ufffd", "a\ufffdb", "\\xff\\xfe",
    "\U0010ffff", "\ue000 private use", "\U000e0041 tag", "\u200d", "\u200c\u200d", "\u2066isolate\u2069", "\u202eRTL override",
    "", "a", "ab", "abc", "A", "Z", "_", "__", "-", "--", "—", "–", "…", "·", "•", "§¶", "©®™", "€£¥₹₿", "°C", "±×÷",
    )
# Long inputs.
add("a" * 300, "ab" * 200, "supercalifragilisticexpialidocious" * 8, "pneumonoultramicroscopicsilicovolcanoconiosis",
    "=" * 500, "-" * 200 + "\n", " " * 300, " " * 100 + "x", "\n" * 100, "0123456789" * 30, "中" * 200,
    "😀" * 100, "a" + "\u0301" * 100, "x" * 1000 + " " + "y" * 1000, "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 10,
    "ThisIsAVeryLongCamelCaseIdentifierThatKeepsGoingAndGoingWithoutAnySpacesAtAllUntilItEnds" * 3,
    "\t" * 50 + "tabbed", ". " * 100, "!?" * 150,
    )

# Added-token flags (for the trained-flags variant): lstrip/rstrip, single_word, normalized.
add("a [mask] b", "a  [mask]  b", "\t[mask]\n", "[mask][mask]", " [mask]", "x\\mask{y", "x \\mask{ y", "\\mask{", "_\\mask{",
    "\\mask{}", "é\\mask{", "1\\mask{2", "\\boxed{1}", "cafe\u0301 café", "Å! A\u030a! \u212b!", "cafés", "xcafé",
    "the café [mask] \\boxed{x} \\mask{y}<|endoftext|>")
# Letters and digits new in Unicode 15.1/16.0 (Hugging Face knows them, Go 15.0
# does not) and letters of Unicode 17 (which Hugging Face does not know yet).
add("a\u1c89b", "x\U00013654\U00013910 y", "Garay \U00010d4a\U00010d4b\U00010d4c", "\U0002ee46\U0002ebf0 CJK I",
    "1\U00010d40\U00010d41 digits", "\U000116da\U000116db", "n\U00016130\U0001ccf0", "\U00016105\U00016106x",
    "a\u088fb", "\U0003263e\U00032a26 CJK J", " \U00010d4a", "\U00010d4a's", "(\U00013654)")

rng = random.Random(20261128)
pools = [
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    list("0123456789"),
    list(" " * 6 + "\t\n\r"),
    list(".,;:!?'\"()[]{}<>-_=+*/\\|@#$%^&`~"),
    list("’‘“”…—–«»¿¡"),
    list("éüñçåøßœæ"),
    list("你好世界中文字"),
    list("नमस्तेदुनिया"),
    list("สวัสดีภาษาไทย"),
    list("مرحبابالعالم"),
    list("😀👍🏽🍕❤️\u200d"),
    ["\u0301", "\u0308", "\u0338", "\u00a0", "\u3000", "\u2028", "\u0085", "Ġ", "Ċ", "²", "½", "٣"],
    ["'s", "'ll", "'LL", "'re", "'t", " 'd", "<|im_end|>", "<think>", "</think>", "<|endoftext|>", "<|im_start|>", "\\boxed{", "[mask]"],
    [" the", " of", " and", " to", " in", " is", " that", " for", " it", " was"],
]
for n in range(220):
    k = rng.randint(1, 40 if n < 180 else 200)
    weights = [rng.random() for _ in pools]
    out = []
    for _ in range(k):
        pool = rng.choices(pools, weights)[0]
        out.append(rng.choice(pool))
    S.append("".join(out))

seen = set()
for s in S:
    if s in seen:
        continue
    seen.add(s)
    print(json.dumps({"text": s}, ensure_ascii=False))
