//! Opening a file with Symphonia and decoding it packet by packet into planar `f32` blocks.
//!
//! Recovery policy, applied by [`Source::next_block`]:
//! - a packet the decoder rejects as malformed is skipped with a `log::warn!` and counted;
//! - a stream that ends mid-packet (an unexpected end of file in the demuxer), or before the frame
//!   count of its header, ends the audio there with a `log::warn!`, so a truncated file yields
//!   its decodable prefix;
//! - data that the demuxer drops (Symphonia skips Ogg pages with a bad checksum and resyncs to the
//!   next FLAC or MP3 frame) shows as a jump in packet timestamps, counted with a `log::warn!`;
//! - any other demuxer failure, and a file in which no packet decodes at all although some were
//!   read, is an [`AudioError::Decode`].

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, Track, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use crate::{AudioError, AudioInfo, MAX_SAMPLE_RATE};

/// Problems met and recovered from while decoding one file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeIssues {
    /// Packets that the codec rejected as malformed and that were skipped (their audio is
    /// missing from the output, which is shorter by their length).
    pub skipped_packets: u64,
    /// Frames missing between packets: the demuxer dropped damaged data (an Ogg page with a bad
    /// checksum, a FLAC frame it could not sync to) and the next packet's timestamp jumps ahead.
    /// The output closes the gap, so later audio comes earlier than in the file. Counted only
    /// for containers whose timestamps count frames (Ogg, FLAC, WAV, MP3, AIFF); 0 elsewhere.
    pub lost_frames: u64,
    /// Whether the file ends before its end: in the middle of a packet or page, or before the
    /// frame count its header states.
    pub truncated: bool,
}

impl DecodeIssues {
    /// Returns whether nothing went wrong.
    pub fn is_clean(&self) -> bool {
        self.skipped_packets == 0 && self.lost_frames == 0 && !self.truncated
    }
}

/// An open file: its format reader, the decoder of its audio track and what is known about it.
pub(crate) struct Source {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    info: AudioInfo,
    issues: DecodeIssues,
    decoded_packets: u64,
    decoded_frames: u64,
    /// Timestamp at which the next packet should start, when timestamps count frames.
    next_pts: Option<i64>,
    /// Whether the track's time base is one frame, so packet timestamps count frames.
    pts_in_frames: bool,
    ended: bool,
}

impl Source {
    /// Opens `path`, probes its container and builds a decoder for its default audio track.
    ///
    /// Reads only the headers (and, for some formats, the last page to learn the length).
    pub(crate) fn open(path: &Path) -> Result<Self, AudioError> {
        let file = open_file(path)?;
        let stream = MediaSourceStream::new(Box::new(file), MediaSourceStreamOptions::default());

        let mut hint = Hint::new();
        if let Some(extension) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(extension);
        }
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                stream,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| match e {
                SymphoniaError::Unsupported(reason) => AudioError::UnsupportedFormat {
                    path: path.to_path_buf(),
                    reason: reason.to_string(),
                },
                other => map_stream_error(path, other),
            })?;

        let track =
            format
                .default_track(TrackType::Audio)
                .ok_or_else(|| AudioError::NoAudioTrack {
                    path: path.to_path_buf(),
                })?;
        let track_id = track.id;
        let pts_in_frames = counts_frames(track);
        let (decoder, info) = make_decoder(path, track)?;

        Ok(Source {
            path: path.to_path_buf(),
            format,
            decoder,
            track_id,
            info,
            issues: DecodeIssues::default(),
            decoded_packets: 0,
            decoded_frames: 0,
            next_pts: None,
            pts_in_frames,
            ended: false,
        })
    }

    pub(crate) fn info(&self) -> &AudioInfo {
        &self.info
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn issues(&self) -> DecodeIssues {
        self.issues
    }

    /// Decodes the next packet of the audio track into `planes` (one `Vec` per channel, each
    /// resized to the packet's frame count).
    ///
    /// Returns `Ok(false)` at the end of the stream; `planes` may then hold zero frames.
    pub(crate) fn next_block(&mut self, planes: &mut Vec<Vec<f32>>) -> Result<bool, AudioError> {
        loop {
            if self.ended {
                return Ok(false);
            }
            let packet = match self.format.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => return self.end_of_stream(),
                Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                    log::warn!(
                        "audio: {} ends in the middle of a packet, keeping the audio decoded so far",
                        self.path.display()
                    );
                    self.issues.truncated = true;
                    return self.end_of_stream();
                }
                Err(SymphoniaError::ResetRequired) => {
                    self.reset_decoder()?;
                    continue;
                }
                Err(e) => return Err(map_stream_error(&self.path, e)),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            self.check_gap(packet.pts.get(), packet.dur.get());

            match self.decoder.decode(&packet) {
                Ok(buffer) => {
                    buffer.copy_to_vecs_planar::<f32>(planes);
                    self.decoded_packets += 1;
                    self.decoded_frames += planes.first().map_or(0, |p| p.len() as u64);
                    return Ok(true);
                }
                Err(SymphoniaError::DecodeError(reason)) => self.skip_packet(reason),
                Err(SymphoniaError::IoError(e)) => self.skip_packet(&e.to_string()),
                Err(SymphoniaError::Unsupported(reason)) => {
                    return Err(AudioError::UnsupportedCodec {
                        path: self.path.clone(),
                        codec: self.info.codec.clone(),
                        reason: reason.to_string(),
                    });
                }
                Err(SymphoniaError::ResetRequired) => self.reset_decoder()?,
                Err(e) => return Err(map_stream_error(&self.path, e)),
            }
        }
    }

    fn skip_packet(&mut self, reason: &str) {
        self.issues.skipped_packets += 1;
        log::warn!(
            "audio: skipped a corrupt packet in {}: {reason} (skipped={})",
            self.path.display(),
            self.issues.skipped_packets
        );
    }

    /// Counts the frames lost before a packet starting at `pts` and lasting `dur`, when the
    /// packet starts later than the previous one ended.
    fn check_gap(&mut self, pts: i64, dur: u64) {
        if !self.pts_in_frames {
            return;
        }
        // Until a packet has produced audio the timestamps are not yet settled: the first Vorbis
        // packet yields no frames, yet the second starts 128 frames after it.
        if let Some(expected) = self.next_pts.filter(|_| self.decoded_frames > 0)
            && pts > expected
        {
            let lost = pts.abs_diff(expected);
            self.issues.lost_frames = self.issues.lost_frames.saturating_add(lost);
            log::warn!(
                "audio: {lost} frames lost before timestamp {pts} in {} (damaged data dropped by the demuxer)",
                self.path.display()
            );
        }
        self.next_pts = Some(pts.saturating_add_unsigned(dur));
    }

    fn end_of_stream(&mut self) -> Result<bool, AudioError> {
        self.ended = true;
        if let Some(expected) = self.info.frames {
            let missing = expected.saturating_sub(self.decoded_frames + self.issues.lost_frames);
            if missing > 0 && !self.issues.truncated && self.issues.skipped_packets == 0 {
                log::warn!(
                    "audio: {} ends {missing} frames before the length its header states ({expected} frames)",
                    self.path.display()
                );
                self.issues.truncated = true;
            }
        }
        if self.decoded_packets == 0 && self.issues.skipped_packets > 0 {
            return Err(AudioError::Decode {
                path: self.path.clone(),
                reason: format!(
                    "none of the {} audio packets could be decoded",
                    self.issues.skipped_packets
                ),
            });
        }
        Ok(false)
    }

    /// Rebuilds the decoder after the format reader changed its track list (a chained Ogg
    /// stream). The new track must keep the sample rate, because the output has one rate.
    fn reset_decoder(&mut self) -> Result<(), AudioError> {
        let track = self.format.default_track(TrackType::Audio).ok_or_else(|| {
            AudioError::NoAudioTrack {
                path: self.path.clone(),
            }
        })?;
        let track_id = track.id;
        let pts_in_frames = counts_frames(track);
        let (decoder, info) = make_decoder(&self.path, track)?;
        if info.sample_rate != self.info.sample_rate {
            return Err(AudioError::Decode {
                path: self.path.clone(),
                reason: format!(
                    "chained stream changes the sample rate from {} Hz to {} Hz",
                    self.info.sample_rate, info.sample_rate
                ),
            });
        }
        log::debug!(
            "audio: new logical stream in {}, decoder rebuilt",
            self.path.display()
        );
        self.decoder = decoder;
        self.track_id = track_id;
        self.pts_in_frames = pts_in_frames;
        self.next_pts = None;
        Ok(())
    }
}

/// Opens `path` for reading after telling apart a missing path, a directory and an empty file.
fn open_file(path: &Path) -> Result<File, AudioError> {
    let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => AudioError::NotFound {
            path: path.to_path_buf(),
        },
        _ => AudioError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    if metadata.is_dir() {
        return Err(AudioError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    if metadata.len() == 0 {
        return Err(AudioError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    File::open(path).map_err(|e| AudioError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Checks whether the timestamps of `track` count frames (a time base of one over the sample rate).
fn counts_frames(track: &Track) -> bool {
    let rate = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .and_then(|p| p.sample_rate);
    match (track.time_base, rate) {
        (Some(base), Some(rate)) => base.numer.get() == 1 && base.denom.get() == rate,
        _ => false,
    }
}

/// Builds the decoder of `track` and describes the track.
fn make_decoder(
    path: &Path,
    track: &Track,
) -> Result<(Box<dyn AudioDecoder>, AudioInfo), AudioError> {
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| AudioError::NoAudioTrack {
            path: path.to_path_buf(),
        })?;
    // Gapless decoding (the default of Symphonia 0.6) trims the encoder delay and padding that
    // the container or the LAME/Xing header declares.
    let options = AudioDecoderOptions::default().gapless(true);
    let decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &options)
        .map_err(|e| match e {
            SymphoniaError::Unsupported(reason) => AudioError::UnsupportedCodec {
                path: path.to_path_buf(),
                codec: format!("id {}", params.codec),
                reason: reason.to_string(),
            },
            other => map_stream_error(path, other),
        })?;

    let sample_rate = match params.sample_rate {
        Some(rate) if (1..=MAX_SAMPLE_RATE).contains(&rate) => rate,
        rate => {
            return Err(AudioError::InvalidSourceRate {
                path: path.to_path_buf(),
                rate,
            });
        }
    };
    let channels = params
        .channels
        .as_ref()
        .map(|c| c.count())
        .filter(|&n| n > 0)
        .ok_or_else(|| AudioError::Decode {
            path: path.to_path_buf(),
            reason: "the audio track declares no channels".to_string(),
        })?;
    let frames = track.num_frames;
    let info = AudioInfo {
        sample_rate,
        channels,
        frames,
        duration_s: frames.map(|n| n as f64 / f64::from(sample_rate)),
        codec: decoder.codec_info().short_name.to_string(),
    };
    Ok((decoder, info))
}

/// Maps a Symphonia error met while probing or demuxing to the crate's error.
fn map_stream_error(path: &Path, error: SymphoniaError) -> AudioError {
    let path = path.to_path_buf();
    match error {
        SymphoniaError::IoError(e) if e.kind() == ErrorKind::UnexpectedEof => AudioError::Decode {
            path,
            reason: "unexpected end of file".to_string(),
        },
        SymphoniaError::IoError(e) => AudioError::Io { path, source: e },
        SymphoniaError::Unsupported(reason) => AudioError::UnsupportedFormat {
            path,
            reason: reason.to_string(),
        },
        other => AudioError::Decode {
            path,
            reason: other.to_string(),
        },
    }
}
