#!/usr/bin/env bash
# The main job: learn a style from sample images and apply it to a photo (outputs in demo/).
set -eu
echo "pstyle $(./pstyle --version)"
./pstyle --help
