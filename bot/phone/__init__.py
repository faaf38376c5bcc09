"""The phone line: the IVR dialogue, as TwiML (Twilio) and VoiceXML (other platforms)."""
