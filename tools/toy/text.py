"""Text sources for the synthetic toy corpus.

Every function here takes a seeded :class:`random.Random` and makes all of
its choices from it, so the same seed always gives the same text. The four
sources stand in for the four datasets of the toy corpus:

* :func:`book_sentence`: read-book sentences in LibriSpeech style (upper
  case, no punctuation except apostrophes);
* :func:`slurp_command`: voice-assistant commands carrying a SLURP scenario,
  action and slot annotation;
* :func:`dialog_line`: short conversational turns for the IEMOCAP stand-in;
* :func:`interview_line`: interview-style remarks for the VoxCeleb stand-in.

Authors
 * summary_ssl contributors 2026
"""

import re

# --------------------------------------------------------------------------
# LibriSpeech-style book sentences: a small grammar over a fixed vocabulary.
# --------------------------------------------------------------------------
_SUBJECTS = [
    "the old man",
    "the young captain",
    "my mother",
    "the little girl",
    "his brother",
    "the stranger",
    "our neighbour",
    "the tall soldier",
    "the doctor",
    "the farmer's wife",
    "i",
    "we",
    "she",
    "he",
    "they",
    "the king",
    "the poor fisherman",
    "her father",
    "the boy",
]
_VERBS = [
    "walked slowly",
    "looked",
    "turned",
    "ran quickly",
    "went",
    "hurried",
    "came back",
    "wandered",
    "rode",
    "crept",
    "stepped",
    "drove",
]
_PLACES = [
    "toward the window",
    "across the field",
    "into the dark forest",
    "down the narrow street",
    "along the river",
    "through the garden",
    "up the hill",
    "into the kitchen",
    "past the church",
    "over the bridge",
    "to the harbour",
    "around the house",
    "out of the village",
]
_TIMES = [
    "before the sun went down",
    "that evening",
    "in the morning",
    "after a long silence",
    "when the rain began",
    "without a word",
    "as the bells rang",
    "for the last time",
    "at midnight",
    "while the others slept",
    "in the early spring",
]
_THOUGHTS = [
    "had never seen so many people",
    "did not know what to say",
    "could hardly believe the news",
    "had forgotten the way home",
    "had forgotten the letter",
    "remembered the old song",
    "couldn't find the key",
    "had lost the map",
    "grew tired of waiting",
    "knew the answer at once",
    "heard a strange noise",
    "didn't say a word",
    "found the captain's boat",
]
_AND = [
    "and said nothing",
    "and sat down by the fire",
    "and smiled at them",
    "and waited for an answer",
    "and closed the door behind",
    "",
    "and looked at the sky",
    "",
]


def book_sentence(rng):
    """Returns one LibriSpeech-style sentence, about 7 to 15 words.

    Arguments
    ---------
    rng : random.Random
        The source of every choice.

    Returns
    -------
    str
        Upper case words separated by single spaces; the only punctuation is
        the apostrophe, as in LibriSpeech transcripts.

    Example
    -------
    >>> import random
    >>> text = book_sentence(random.Random(0))
    >>> text == text.upper() and "," not in text
    True
    """
    subject = rng.choice(_SUBJECTS)
    if rng.random() < 0.5:
        words = [subject, rng.choice(_VERBS), rng.choice(_PLACES)]
        words += [rng.choice(_AND) or rng.choice(_TIMES)]
    else:
        words = [subject, rng.choice(_THOUGHTS), rng.choice(_TIMES)]
    return normalize_transcript(" ".join(w for w in words if w))


def normalize_transcript(text):
    """Returns text in LibriSpeech transcript form (upper case, apostrophes).

    Arguments
    ---------
    text : str
        Any English text.

    Returns
    -------
    str
        Upper case, single spaces, no punctuation except apostrophes.

    Example
    -------
    >>> normalize_transcript("Well, I didn't  know!")
    "WELL I DIDN'T KNOW"
    """
    text = re.sub(r"[^a-z' ]+", " ", text.lower())
    return " ".join(text.split()).upper()


# --------------------------------------------------------------------------
# SLURP-style commands. Templates mark slots as {slot_type}; each slot type
# has its fillers. The intent is "<scenario>_<action>", as in SLURP.
# --------------------------------------------------------------------------
SLOT_FILLERS = {
    "time": ["seven", "six thirty", "ten", "eight fifteen", "noon", "nine"],
    "date": ["tomorrow", "today", "next week", "this weekend", "next friday"],
    "timeofday": ["morning", "evening", "afternoon", "night"],
    "place_name": ["london", "paris", "boston", "tokyo", "berlin", "rome"],
    "weather_descriptor": ["rainy", "snowy", "sunny", "windy", "cold"],
    "song_name": ["yellow submarine", "hey jude", "let it be", "imagine"],
    "artist_name": ["the beatles", "adele", "queen", "madonna", "coldplay"],
    "music_genre": ["jazz", "rock", "classical", "pop", "blues"],
    "list_name": ["shopping", "grocery", "to do", "packing"],
    "event_name": ["meeting", "dentist appointment", "lunch", "party"],
    "person": ["john", "sarah", "my boss", "anna", "david"],
    "house_place": ["kitchen", "bedroom", "living room", "bathroom"],
    "item": ["milk", "eggs", "bread", "apples", "coffee"],
}

#: intent -> (scenario, action, templates)
INTENTS = {
    "alarm_set": (
        "alarm",
        "set",
        [
            "wake me up at {time}",
            "wake me up at {time} {date}",
            "i need an alarm at {time} please",
            "set an alarm for {time} {date}",
            "please set an alarm at {time} in the {timeofday}",
        ],
    ),
    "alarm_query": (
        "alarm",
        "query",
        [
            "what alarms do i have {date}",
            "is there an alarm set for {time}",
            "which alarms are set for the {timeofday}",
        ],
    ),
    "weather_query": (
        "weather",
        "query",
        [
            "what is the weather like in {place_name}",
            "will it be {weather_descriptor} {date}",
            "is it going to be {weather_descriptor} in {place_name} {date}",
        ],
    ),
    "play_music": (
        "play",
        "music",
        [
            "play {song_name} by {artist_name}",
            "put on some {music_genre} music",
            "put on some {music_genre} music please",
            "i want to hear {artist_name}",
        ],
    ),
    "lists_createoradd": (
        "lists",
        "createoradd",
        [
            "add {item} to my {list_name} list",
            "put {item} on the {list_name} list",
            "create a new {list_name} list",
        ],
    ),
    "calendar_set": (
        "calendar",
        "set",
        [
            "schedule a {event_name} with {person} {date}",
            "remind me about the {event_name} at {time}",
            "add {event_name} to my calendar for {date}",
        ],
    ),
    "iot_hue_lightoff": (
        "iot",
        "hue_lightoff",
        [
            "turn off the lights in the {house_place}",
            "switch the {house_place} lights off",
            "lights off please",
            "please switch off the lights in the {house_place}",
        ],
    ),
    "datetime_query": (
        "datetime",
        "query",
        [
            "what time is it in {place_name}",
            "what is the date {date}",
            "tell me the time please",
            "what is the time in {place_name} right now",
        ],
    ),
    "general_joke": (
        "general",
        "joke",
        [
            "tell me a joke",
            "make me laugh with a joke about {item}",
            "do you know any funny jokes",
        ],
    ),
}

_POS = {
    "wake": "VB",
    "set": "VB",
    "play": "VB",
    "put": "VB",
    "add": "VB",
    "turn": "VB",
    "switch": "VB",
    "tell": "VB",
    "create": "VB",
    "schedule": "VB",
    "remind": "VB",
    "make": "VB",
    "want": "VBP",
    "hear": "VB",
    "know": "VB",
    "up": "RP",
    "off": "RP",
    "what": "WP",
    "which": "WDT",
    "is": "VBZ",
    "are": "VBP",
    "the": "DT",
    "a": "DT",
    "an": "DT",
    "my": "PRP$",
    "me": "PRP",
    "i": "PRP",
    "you": "PRP",
    "at": "IN",
    "in": "IN",
    "for": "IN",
    "with": "IN",
    "about": "IN",
    "by": "IN",
    "on": "IN",
    "to": "TO",
    "please": "UH",
    "will": "MD",
    "do": "VBP",
    "there": "EX",
    "any": "DT",
    "it": "PRP",
}
_LEMMA = {
    "is": "be",
    "are": "be",
    "me": "-PRON-",
    "my": "-PRON-",
    "i": "i",
    "alarms": "alarm",
    "lights": "light",
    "jokes": "joke",
    "apples": "apple",
    "eggs": "egg",
    "it": "-PRON-",
}


def slurp_command(rng, intent):
    """Returns one SLURP-style annotated command for an intent.

    Arguments
    ---------
    rng : random.Random
        The source of every choice.
    intent : str
        A key of :data:`INTENTS`, such as ``"alarm_set"``.

    Returns
    -------
    dict
        ``sentence``, ``sentence_annotation`` (slots as
        ``[type : words]``), ``intent``, ``action``, ``tokens`` (SLURP's
        ``surface``/``id``/``lemma``/``pos`` dicts), ``scenario`` and
        ``entities`` (``span`` token indices and ``type``).

    Example
    -------
    >>> import random
    >>> cmd = slurp_command(random.Random(3), "alarm_set")
    >>> cmd["scenario"], cmd["action"]
    ('alarm', 'set')
    >>> cmd["tokens"][0]["id"]
    0
    """
    scenario, action, templates = INTENTS[intent]
    template = rng.choice(templates)
    words, annotated, entities = [], [], []
    for piece in template.split():
        slot = re.fullmatch(r"\{(\w+)\}", piece)
        if slot is None:
            words.append(piece)
            annotated.append(piece)
            continue
        value = rng.choice(SLOT_FILLERS[slot.group(1)]).split()
        span = list(range(len(words), len(words) + len(value)))
        entities.append({"span": span, "type": slot.group(1)})
        words.extend(value)
        annotated.append(f"[{slot.group(1)} : {' '.join(value)}]")
    tokens = [
        {
            "surface": w,
            "id": i,
            "lemma": _LEMMA.get(w, w),
            "pos": _POS.get(w, "NN"),
        }
        for i, w in enumerate(words)
    ]
    return {
        "sentence": " ".join(words),
        "sentence_annotation": " ".join(annotated),
        "intent": intent,
        "action": action,
        "tokens": tokens,
        "scenario": scenario,
        "entities": entities,
    }


# --------------------------------------------------------------------------
# Conversational turns (IEMOCAP) and interview remarks (VoxCeleb). The same
# pool serves every emotion, so only the speaking style tells them apart.
# --------------------------------------------------------------------------
_DIALOG_CORE = [
    "excuse me",
    "come here",
    "he's gone",
    "look at this",
    "I know that",
    "don't do that",
    "where were you",
    "thank you",
    "are you serious",
    "I got the job",
    "leave me alone",
    "not again",
    "it's over",
    "do you have your forms",
    "I told you already",
    "it's not my fault",
    "what do you want from me",
    "we need to talk",
    "why didn't you call",
    "that's what I said",
    "you never listen",
    "just give it to me",
    "I waited all afternoon",
    "we'll do it your way",
    "I can't find it",
]
_DIALOG_OPEN = ["", "", "", "Well, ", "Oh, ", "Look, ", "No, ", "Yes, "]
_DIALOG_TAIL = ["", "", "", ", okay", " now", " again", ", please", " today"]
_INTERVIEW_OPEN = ["", "", "Yeah, ", "Well, ", "You know, ", "Honestly, "]
_INTERVIEW_CORE = [
    "it was amazing",
    "I loved that part",
    "we had a great time",
    "it was really hard",
    "that's a good question",
    "thanks for having me",
    "I was so surprised",
    "my mom loved it",
    "we were very lucky",
    "the film did really well",
    "we shot most of it in Canada",
    "my family has always supported me",
    "it's been a crazy year",
    "I love working with that team",
    "music is my whole life",
    "we started the band in college",
    "I never expected to win",
]
_INTERVIEW_TAIL = ["", "", " actually", " to be honest", " for sure"]


_QUESTION = ("where", "are", "do", "what", "why")


def _line(rng, opens, cores, tails):
    """Joins an opener, a core and a tail into a punctuated sentence."""
    core = rng.choice(cores)
    text = rng.choice(opens) + core + rng.choice(tails)
    end = "?" if core.startswith(_QUESTION) else "."
    return text[0].upper() + text[1:] + end


def dialog_line(rng):
    """Returns a short conversational turn (IEMOCAP transcription style).

    Arguments
    ---------
    rng : random.Random
        The source of the choice.

    Returns
    -------
    str
        A sentence with ordinary capitalisation and punctuation.

    Example
    -------
    >>> import random
    >>> dialog_line(random.Random(0)).endswith((".", "?"))
    True
    """
    return _line(rng, _DIALOG_OPEN, _DIALOG_CORE, _DIALOG_TAIL)


def interview_line(rng):
    """Returns an interview-style remark (VoxCeleb stand-in), as
    :func:`dialog_line` does a conversational turn.

    Example
    -------
    >>> import random
    >>> len(interview_line(random.Random(0)).split()) > 3
    True
    """
    return _line(rng, _INTERVIEW_OPEN, _INTERVIEW_CORE, _INTERVIEW_TAIL)
