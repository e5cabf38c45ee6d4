"""The random E2EE password a client proposes to its user.

Rocket.Chat 7.13+ shows 12 words from the BIP-39 English list (spec rocketchat-e2e.md §4.3).
The server never sees the passphrase and nothing checks it against a list, so we use our own
256-word list instead of vendoring BIP-39: 12 uniform picks give 96 bits of entropy (12
BIP-39 words give 132), plenty for a secret that is also stretched by PBKDF2.
"""

from __future__ import annotations

import secrets

__all__ = ["PASSPHRASE_WORDS", "WORD_LIST", "generate_passphrase"]

PASSPHRASE_WORDS = 12

#: 256 distinct, lowercase, ASCII words (ASCII keeps Latin-1 and UTF-8 encodings identical,
#: so web and mobile clients derive the same master key from the passphrase).
WORD_LIST: tuple[str, ...] = tuple(
    """
    acorn actor adobe agent alarm album alley amber angle ankle apple apron arena arrow aspen atlas
    attic autumn badge bagel baker balloon bamboo banjo barley basket beacon beaver bench berry bison
    blanket blossom bonnet border bottle bramble breeze brick bridge brook bucket bugle butter button
    cabin cactus camel candle canoe canyon carpet carrot castle cedar cellar chalk cherry chess chimney
    cider circle citrus clover cobalt coconut comet copper coral cotton cowboy crayon cricket crystal
    cuckoo curtain cymbal daisy dancer delta desert diamond dolphin donkey dragon drum eagle easel echo
    eclipse elbow ember emerald engine falcon fable feather fern fiddle finch flannel flint forest
    fossil fountain fox galaxy garden garlic gazelle geyser ginger glacier globe goblet granite grape
    gravel guitar hammer harbor harp hazel hedge helmet heron hickory honey horizon igloo island ivory
    jacket jaguar jasmine jelly jigsaw jungle kayak kettle kiwi ladder lagoon lantern lava lemon lily
    linen lizard lobster locket magnet mango maple marble meadow melon meteor mint mirror mitten monsoon
    mosaic muffin nectar needle nickel nutmeg oasis oak ocean olive onion orbit orchid otter oyster
    paddle palace panda paper parrot pebble pepper piano pickle pigeon pillow pine planet plum pocket
    pony poppy prism pumpkin puzzle quartz quill rabbit radish rainbow raven ribbon river robin rocket
    saddle saffron salmon sandal satin scarf shadow shell silver sketch sleigh spruce squash stable
    statue summit sunset swan tablet teapot thistle thunder tiger timber toffee tomato topaz tornado
    trumpet tulip tundra turtle umbrella valley velvet violin volcano wagon walnut whistle willow window
    winter wizard yarn zebra zephyr zigzag zinnia
    """.split()
)


def generate_passphrase(words: int = PASSPHRASE_WORDS) -> str:
    """``words`` words picked uniformly with :mod:`secrets`, separated by single spaces."""
    if isinstance(words, bool) or not isinstance(words, int) or words < 1:
        raise ValueError("words must be a positive integer")
    return " ".join(secrets.choice(WORD_LIST) for _ in range(words))
