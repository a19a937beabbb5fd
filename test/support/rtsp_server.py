#!/usr/bin/python3
"""Volet's test camera: a real RTSP server (GStreamer gst-rtsp-server) on loopback.

Each mount plays one clip (MKV/MP4/MPEG-TS holding H.264 and optionally AAC)
like a live camera: a "feeder" pipeline demuxes the file in real time, without
re-encoding, and loops it forever when --loop is given. Every client session
of that mount receives the access units from the moment it joins, starting at
the next keyframe, with timestamps that keep increasing across loops.

Usage:
  /usr/bin/python3 rtsp_server.py --port 0 --mount /main=main.mkv --mount /sub=sub.mkv \
      [--user u --password p [--auth-methods basic,digest]] [--loop] [--freeze-after S]

Prints "READY <port>" on stdout once listening on 127.0.0.1.
Exits when stdin reaches end of file (the parent died or closed the pipe), on
SIGTERM or SIGINT. Commands read from stdin, one per line:
  freeze   stop sending media data on every mount (sockets and sessions stay open)
  resume   start sending again (from the next keyframe)
Each command is acknowledged on stdout with "OK <command>".

Needs the system python (python3-gi, gir1.2-gst-rtsp-server-1.0,
gstreamer1.0-plugins-{base,good,bad}).
"""

import argparse
import ctypes
import os
import signal
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

Gst.init(None)


def log(message):
    # The parent may be gone (that is why we are exiting): never let a broken
    # pipe stop us.
    try:
        sys.stderr.write(f"[rtsp_server] {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def say(line):
    """A line for the parent on stdout (READY, OK ...)."""
    try:
        sys.stdout.write(f"{line}\n")
        sys.stdout.flush()
    except (OSError, ValueError):
        pass


def fail(message):
    log(f"error: {message}")
    os._exit(2)


DEMUXERS = {".mkv": "matroskademux", ".mp4": "qtdemux", ".mov": "qtdemux", ".ts": "tsdemux"}


class Consumer:
    """The appsrc elements of one media (one shared RTSP stream of a mount)."""

    def __init__(self, video_src, audio_src, freeze_after):
        self.video_src = video_src
        self.audio_src = audio_src
        self.freeze_after = freeze_after
        self.waiting_for_keyframe = True
        self.started_at = None  # monotonic time of the first buffer pushed

    def frozen_by_age(self):
        return (
            self.freeze_after is not None
            and self.started_at is not None
            and time.monotonic() - self.started_at >= self.freeze_after
        )


class Feeder:
    """Plays one clip in real time and hands its encoded frames to consumers."""

    def __init__(self, mount, path, loop, state):
        self.mount = mount
        self.path = path
        self.loop = loop
        self.state = state
        self.lock = threading.Lock()
        self.consumers = []
        self.video_caps = None
        self.audio_caps = None
        self.loops = 0
        self.playing = False

        # Demux only, never decode. (parsebin would guess the container but
        # does not say when it has found all streams.)
        extension = os.path.splitext(path)[1].lower()
        demuxer = DEMUXERS.get(extension)
        if demuxer is None:
            fail(f"{mount}: {path}: container {extension!r} not supported (use {', '.join(DEMUXERS)})")
        self.pipeline = Gst.Pipeline.new(f"feeder{mount}")
        src = Gst.ElementFactory.make("filesrc")
        src.set_property("location", path)
        demux = Gst.ElementFactory.make(demuxer)
        self.pipeline.add(src)
        self.pipeline.add(demux)
        src.link(demux)
        demux.connect("pad-added", self._on_pad_added)
        self.video_sink = None
        self.audio_sink = None
        self.pads_done = threading.Event()
        demux.connect("no-more-pads", lambda *_: self.pads_done.set())

        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::eos", self._on_eos)
        bus.connect("message::error", self._on_error)

    def _branch(self, pad, elements, sink_name):
        queue = Gst.ElementFactory.make("queue")
        sink = Gst.ElementFactory.make("appsink", sink_name)
        # sync=true paces the file at its own frame rate, like a live camera.
        sink.set_property("sync", True)
        sink.set_property("emit-signals", True)
        sink.set_property("max-buffers", 50)
        chain = [queue] + elements + [sink]
        for element in chain:
            self.pipeline.add(element)
        for a, b in zip(chain, chain[1:]):
            if not a.link(b):
                fail(f"{self.mount}: cannot link {a.get_name()} to {b.get_name()}")
        for element in chain:
            element.sync_state_with_parent()
        if pad.link(queue.get_static_pad("sink")) != Gst.PadLinkReturn.OK:
            fail(f"{self.mount}: cannot link demuxed pad")
        return sink

    def _on_pad_added(self, _demux, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        name = caps.get_structure(0).get_name()
        if name == "video/x-h264" and self.video_sink is None:
            parse = Gst.ElementFactory.make("h264parse")
            # SPS/PPS before every IDR, so a client may join at any keyframe.
            parse.set_property("config-interval", -1)
            capsfilter = Gst.ElementFactory.make("capsfilter")
            capsfilter.set_property(
                "caps",
                Gst.Caps.from_string("video/x-h264,stream-format=byte-stream,alignment=au"),
            )
            self.video_sink = self._branch(pad, [parse, capsfilter], "video")
            self.video_sink.connect("new-sample", self._on_sample, "video")
        elif name == "audio/mpeg" and self.audio_sink is None:
            parse = Gst.ElementFactory.make("aacparse")
            capsfilter = Gst.ElementFactory.make("capsfilter")
            capsfilter.set_property("caps", Gst.Caps.from_string("audio/mpeg,mpegversion=4,stream-format=raw"))
            self.audio_sink = self._branch(pad, [parse, capsfilter], "audio")
            self.audio_sink.connect("new-sample", self._on_sample, "audio")
        else:
            log(f"{self.mount}: ignoring stream {name}")
            fakesink = Gst.ElementFactory.make("fakesink")
            fakesink.set_property("sync", False)
            self.pipeline.add(fakesink)
            fakesink.sync_state_with_parent()
            pad.link(fakesink.get_static_pad("sink"))

    def start(self):
        """Preroll so that the stream caps are known. The clip starts playing
        when the first client stream attaches."""
        if not os.path.isfile(self.path):
            fail(f"{self.mount}: no such clip {self.path}")
        ret = self.pipeline.set_state(Gst.State.PAUSED)
        if ret == Gst.StateChangeReturn.FAILURE:
            fail(f"{self.mount}: cannot open {self.path}")
        # The sinks appear only once parsebin has found the streams; wait for
        # them, then for them to preroll.
        bus = self.pipeline.get_bus()
        deadline = time.monotonic() + 10
        while not self.pads_done.is_set():
            message = bus.timed_pop_filtered(100 * Gst.MSECOND, Gst.MessageType.ERROR)
            if message is not None:
                err, debug = message.parse_error()
                fail(f"{self.mount}: cannot read {self.path}: {err.message} ({debug})")
            if time.monotonic() > deadline:
                fail(f"{self.mount}: no streams found in {self.path} within 10 s")
        ret, _, _ = self.pipeline.get_state(10 * Gst.SECOND)
        if ret != Gst.StateChangeReturn.SUCCESS:
            fail(f"{self.mount}: {self.path} did not preroll ({ret.value_nick}); is it H.264 in MKV/MP4/TS?")
        if self.video_sink is None:
            fail(f"{self.mount}: {self.path} has no H.264 video stream")
        self.video_caps = self.video_sink.get_static_pad("sink").get_current_caps()
        if self.audio_sink is not None:
            self.audio_caps = self.audio_sink.get_static_pad("sink").get_current_caps()
        log(
            f"{self.mount}: {self.path} video={self.video_caps.to_string()}"
            + (f" audio={self.audio_caps.to_string()}" if self.audio_caps else "")
        )

    def launch_description(self):
        video = (
            "appsrc name=video is-live=true format=time do-timestamp=true "
            "max-bytes=4000000 leaky-type=upstream ! "
            "rtph264pay name=pay0 pt=96 config-interval=-1"
        )
        if self.audio_caps is None:
            return f"( {video} )"
        audio = (
            "appsrc name=audio is-live=true format=time do-timestamp=true "
            "max-bytes=1000000 leaky-type=upstream ! "
            "rtpmp4gpay name=pay1 pt=97"
        )
        return f"( {video} {audio} )"

    def attach(self, media):
        bin_ = media.get_element()
        video_src = bin_.get_by_name_recurse_up("video")
        video_src.set_property("caps", self.video_caps)
        audio_src = None
        if self.audio_caps is not None:
            audio_src = bin_.get_by_name_recurse_up("audio")
            audio_src.set_property("caps", self.audio_caps)
        consumer = Consumer(video_src, audio_src, self.state.freeze_after)
        with self.lock:
            self.consumers.append(consumer)
            start = not self.playing
            self.playing = True
        log(f"{self.mount}: client stream attached ({len(self.consumers)} active)")
        if start:
            log(f"{self.mount}: clip starts")
            self.pipeline.set_state(Gst.State.PLAYING)

        def detach(*_args):
            with self.lock:
                if consumer in self.consumers:
                    self.consumers.remove(consumer)
            log(f"{self.mount}: client stream detached ({len(self.consumers)} active)")

        media.connect("unprepared", detach)

    def _on_sample(self, sink, kind):
        sample = sink.emit("pull-sample")
        if sample is None:
            return Gst.FlowReturn.EOS
        buffer = sample.get_buffer()
        is_keyframe = kind == "video" and not buffer.has_flags(Gst.BufferFlags.DELTA_UNIT)
        with self.lock:
            consumers = list(self.consumers)
        frozen = self.state.frozen
        for consumer in consumers:
            if frozen or consumer.frozen_by_age():
                # A frozen camera sends nothing; after it thaws, start cleanly.
                consumer.waiting_for_keyframe = True
                continue
            if consumer.waiting_for_keyframe:
                if not is_keyframe:
                    continue
                consumer.waiting_for_keyframe = False
            if consumer.started_at is None:
                consumer.started_at = time.monotonic()
            target = consumer.video_src if kind == "video" else consumer.audio_src
            if target is None:
                continue
            # Timestamps are re-applied by appsrc (do-timestamp) from the
            # media's running time, so they keep increasing across loops.
            out = buffer.copy_deep()
            out.pts = Gst.CLOCK_TIME_NONE
            out.dts = Gst.CLOCK_TIME_NONE
            target.emit("push-buffer", out)
        return Gst.FlowReturn.OK

    def _on_eos(self, _bus, _message):
        if self.loop:
            self.loops += 1
            # A flushing seek restarts the clip; the pipeline re-bases its
            # clock, so pacing stays real time.
            self._rewind()
            return
        log(f"{self.mount}: end of clip")
        with self.lock:
            consumers = list(self.consumers)
            self.consumers.clear()
            self.playing = False
        for consumer in consumers:
            consumer.video_src.emit("end-of-stream")
            if consumer.audio_src is not None:
                consumer.audio_src.emit("end-of-stream")
        # Wait, prerolled at the start, for the next client.
        self.pipeline.set_state(Gst.State.PAUSED)
        self._rewind()

    def _rewind(self):
        ok = self.pipeline.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
        if not ok:
            log(f"{self.mount}: seek back to start failed")

    def _on_error(self, _bus, message):
        err, debug = message.parse_error()
        fail(f"{self.mount}: {err.message} ({debug})")


class ServerState:
    def __init__(self, freeze_after):
        self.frozen = False
        self.freeze_after = freeze_after


def set_supported_methods(auth, methods):
    """RTSPAuth.set_supported_methods takes a bit mask, but PyGObject only
    accepts single enum members, so BASIC|DIGEST goes through ctypes."""
    try:
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod(methods))
        return
    except (TypeError, ValueError):
        pass
    lib = ctypes.CDLL("libgstrtspserver-1.0.so.0")
    lib.gst_rtsp_auth_set_supported_methods.argtypes = [ctypes.c_void_p, ctypes.c_int]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    lib.gst_rtsp_auth_set_supported_methods(get_pointer(auth.__gpointer__, None), methods)


def parse_args():
    parser = argparse.ArgumentParser(description="Volet test RTSP camera")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="TCP port on the host; 0 picks a free one")
    parser.add_argument(
        "--mount", action="append", default=[], metavar="PATH=FILE",
        help="serve FILE at rtsp://127.0.0.1:PORT/PATH (repeatable)",
    )
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument(
        "--auth-methods", default="basic,digest",
        help="comma-separated subset of basic,digest offered to clients (default both)",
    )
    parser.add_argument("--loop", action="store_true", help="loop the clips forever")
    parser.add_argument(
        "--freeze-after", type=float, default=None, metavar="SECONDS",
        help="each client stream stops receiving data SECONDS after its first frame",
    )
    args = parser.parse_args()
    if not args.mount:
        parser.error("at least one --mount is needed")
    if (args.user is None) != (args.password is None):
        parser.error("--user and --password go together")
    return args


def main():
    args = parse_args()
    state = ServerState(args.freeze_after)

    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()

    if args.user is not None:
        auth = GstRtspServer.RTSPAuth()
        auth.set_realm("Volet test camera")
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        methods = 0
        for method in args.auth_methods.split(","):
            method = method.strip().lower()
            if method == "basic":
                methods |= int(GstRtsp.RTSPAuthMethod.BASIC)
                auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
            elif method == "digest":
                methods |= int(GstRtsp.RTSPAuthMethod.DIGEST)
                auth.add_digest(args.user, args.password, token)
            else:
                fail(f"unknown auth method {method!r}")
        set_supported_methods(auth, methods)
        server.set_auth(auth)

    feeders = []
    for spec in args.mount:
        path, sep, clip = spec.partition("=")
        if not sep or not clip:
            fail(f"--mount wants PATH=FILE, got {spec!r}")
        if not path.startswith("/"):
            path = "/" + path
        feeder = Feeder(path, os.path.abspath(clip), args.loop, state)
        feeder.start()
        feeders.append(feeder)

        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(feeder.launch_description())
        factory.set_shared(True)
        factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP)
        factory.connect("media-configure", lambda _f, media, fd=feeder: fd.attach(media))
        if args.user is not None:
            role = Gst.Structure.new_from_string(
                "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
            )
            factory.add_role_from_structure(role)
        mounts.add_factory(path, factory)

    main_loop = GLib.MainLoop()

    def quit_now(*_args):
        # Sockets close with the process; nothing needs a graceful teardown.
        os._exit(0)

    if server.attach(None) == 0:
        fail(f"cannot listen on {args.host}:{args.port} (port in use?)")
    port = server.get_bound_port()

    pool = server.get_session_pool()
    GLib.timeout_add_seconds(2, lambda: (pool.cleanup(), True)[1])

    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, quit_now)
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, quit_now)

    pending = bytearray()

    def on_stdin(fd, _condition):
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            log("stdin closed, exiting")
            quit_now()
        pending.extend(data)
        while b"\n" in pending:
            line, _, rest = bytes(pending).partition(b"\n")
            pending[:] = rest
            command = line.decode(errors="replace").strip()
            if command == "freeze":
                state.frozen = True
            elif command == "resume":
                state.frozen = False
            elif command:
                log(f"unknown command {command!r}")
                continue
            else:
                continue
            log(command)
            say(f"OK {command}")
        return True

    GLib.io_add_watch(sys.stdin.fileno(), GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, on_stdin)

    say(f"READY {port}")
    main_loop.run()


if __name__ == "__main__":
    main()
