#!/bin/bash
# image-stamp.sh: the stamp of the image the scripts beside it build. build-image.sh writes it into
# the images folder; run-in-dom0.sh and the tests compare it, so an image built by older scripts is
# rebuilt, never booted.
cd "$(dirname "${BASH_SOURCE[0]}")" && cat build-image.sh dom0-init.sh guest-init.sh guest.sh | sha256sum | cut -d' ' -f1
