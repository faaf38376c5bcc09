"""A dialogue step as TwiML (built with Twilio's own library) or as VoiceXML 2.1.

Both are XML built by libraries that escape every text, so a title with `<`, `&`
or quotes is spoken as written and never breaks the document.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from twilio.twiml.voice_response import Gather as TwimlGather
from twilio.twiml.voice_response import VoiceResponse

from channels.phone.dialogue import Step

VXML = "http://www.w3.org/2001/vxml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
GATHER_TIMEOUT = 6  # seconds of silence before the menu is offered again


def to_twiml(step: Step) -> str:
    response = VoiceResponse()
    speech = {"voice": step.voice, "language": step.language}
    for text in step.say:
        response.say(text, **speech)
    if step.gather is not None:
        gather = TwimlGather(
            num_digits=step.gather.max_digits,
            action=step.gather.action,
            method="POST",
            timeout=GATHER_TIMEOUT,
            finish_on_key="#",
            action_on_empty_result=True,
        )
        for text in step.gather.prompt:
            gather.say(text, **speech)
        other = step.gather.other_language
        if other is not None:  # in its own language and voice
            gather.say(other.text, voice=other.voice, language=other.language)
        response.append(gather)
    if step.dial:
        response.dial(step.dial)
    if step.hangup:
        response.hangup()
    elif step.redirect:
        response.redirect(step.redirect, method="POST")
    return str(response)


def to_vxml(step: Step) -> bytes:
    ET.register_namespace("", VXML)
    root = ET.Element(f"{{{VXML}}}vxml", {"version": "2.1", XML_LANG: step.language})
    form = ET.SubElement(root, f"{{{VXML}}}form", {"id": "step"})
    if step.say:
        block = ET.SubElement(form, f"{{{VXML}}}block")
        for text in step.say:
            ET.SubElement(block, f"{{{VXML}}}prompt").text = text
    if step.gather is not None:
        field = ET.SubElement(
            form,
            f"{{{VXML}}}field",
            {"name": "Digits", "type": f"digits?minlength=1;maxlength={step.gather.max_digits}"},
        )
        for text in step.gather.prompt:
            ET.SubElement(field, f"{{{VXML}}}prompt", {"timeout": f"{GATHER_TIMEOUT}s"}).text = text
        other = step.gather.other_language
        if other is not None:  # in its own language (and voice, where the platform has one)
            prompt = ET.SubElement(field, f"{{{VXML}}}prompt", {"timeout": f"{GATHER_TIMEOUT}s"})
            voice = ET.SubElement(
                prompt,
                f"{{{VXML}}}voice" if other.voice else f"{{{VXML}}}p",
                {XML_LANG: other.language, **({"name": other.voice} if other.voice else {})},
            )
            voice.text = other.text
        filled = ET.SubElement(field, f"{{{VXML}}}filled")
        ET.SubElement(
            filled,
            f"{{{VXML}}}submit",
            {"next": step.gather.action, "namelist": "Digits", "method": "post"},
        )
        for event in ("noinput", "nomatch"):
            handler = ET.SubElement(field, f"{{{VXML}}}{event}")
            ET.SubElement(handler, f"{{{VXML}}}goto", {"next": step.redirect or step.gather.action})
    if step.dial:
        ET.SubElement(
            form,
            f"{{{VXML}}}transfer",
            {"name": "human", "dest": "tel:" + "".join(step.dial.split()), "bridge": "true"},
        )
    if step.hangup:
        ET.SubElement(ET.SubElement(form, f"{{{VXML}}}block"), f"{{{VXML}}}exit")
    elif step.redirect and step.gather is None:
        block = ET.SubElement(form, f"{{{VXML}}}block")
        ET.SubElement(block, f"{{{VXML}}}goto", {"next": step.redirect})
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
