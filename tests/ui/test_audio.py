"""Mixing everyone's audio, and playback that goes on without a sound device."""

from array import array

import av

from app.ui.audio import BYTES_PER_FRAME, MAX_BUFFERED, AudioMixer, AudioPlayback


def tone(value, samples=960, rate=48000, layout="stereo"):
    channels = 1 if layout == "mono" else 2
    frame = av.AudioFrame(format="s16", layout=layout, samples=samples)
    frame.planes[0].update(array("h", [value] * samples * channels).tobytes())
    frame.sample_rate = rate
    return frame


def mixed(mixer, nbytes):
    return array("h", mixer.mix(nbytes))


def test_two_streams_are_summed_and_clipped():
    mixer = AudioMixer()
    mixer.push("a", tone(1000))
    mixer.push("b", tone(2000))
    out = mixed(mixer, 480 * BYTES_PER_FRAME)
    assert len(out) == 480 * 2 and set(out[100:]) == {3000}
    mixer.push("a", tone(30000))
    mixer.push("b", tone(30000))
    assert max(mixed(mixer, 960 * BYTES_PER_FRAME)) == 32767


def test_a_quiet_stream_is_padded_with_silence_and_a_gone_one_forgotten():
    mixer = AudioMixer()
    mixer.push("a", tone(1000))
    mixer.push("b", tone(500, samples=480))
    mixer.mix(100 * BYTES_PER_FRAME)  # the resamplers' start-up
    out = mixed(mixer, mixer.available())
    assert out[-1] == 1000  # b ran out: a alone
    mixer.forget("a")
    assert mixer.available() == 0 and mixer.mix(4096) == b""


def test_an_output_that_falls_behind_keeps_the_newest_audio():
    mixer = AudioMixer()
    for _ in range(50):  # a second of audio, nobody playing it
        mixer.push("a", tone(1000))
    assert mixer.available() <= MAX_BUFFERED
    assert mixer.overflows > 0


def test_without_a_sound_device_it_says_so_once_and_goes_on(qapp, monkeypatch):
    from PySide6.QtMultimedia import QMediaDevices

    class NoDevice:
        def isNull(self):
            return True

    monkeypatch.setattr(QMediaDevices, "defaultAudioOutput", staticmethod(NoDevice))
    playback = AudioPlayback()
    notes = []
    playback.notice.connect(notes.append)
    for _ in range(20):
        playback.push("a", tone(1000))
    playback.forget("a")
    playback.stop()  # the call ends; the next one does not say it again
    playback.push("a", tone(1000))
    assert notes == ["No sound output device: audio from others is not played."]
    assert playback.mixer.available() == 0  # dropped, not piling up
