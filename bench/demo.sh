#!/usr/bin/env bash
# The main job on the shipped default model, end to end, in demo/:
#  1. a "user's" style: one of the synthesizer's validation styles (never seen in training)
#     painted on three photos -- these stand in for someone's own images;
#  2. pstyle learn: those three images -> the user's style vector, stored in demo/styles.db;
#  3. pstyle preview: a fourth photo at a grid of dials, on one contact sheet;
#  4. pstyle apply: that photo in the style, then each group alone (the three dials).
# Photos: bench/demo/*.jpg from scikit-image's sample data (see bench/demo/SOURCES).
set -eu
P=${PSTYLE:-./pstyle}
out=demo
rm -rf "$out"
mkdir -p "$out/samples"
export PSTYLE_DB="$out/styles.db"
style=${DEMO_STYLE:-3}
echo "== the user's images: validation style $style painted on three photos"
"$P" synth --val --seed "$style" --render bench/demo/coffee.jpg bench/demo/chelsea.jpg \
    bench/demo/rocket.jpg --out-dir "$out/samples"
echo "== pstyle learn"
"$P" learn --user demo "$out"/samples/*.png
"$P" show demo | grep -v '^      settings\|^      quality'
echo "== pstyle preview"
"$P" preview --user demo bench/demo/astronaut.jpg -o "$out/astronaut.preview.png"
echo "== pstyle apply"
"$P" apply --user demo bench/demo/astronaut.jpg --out-dir "$out"
"$P" apply --user demo --texture 0 --stroke 0 bench/demo/astronaut.jpg -o "$out/astronaut.color.png"
"$P" apply --user demo --color 0 --stroke 0 bench/demo/astronaut.jpg -o "$out/astronaut.texture.png"
"$P" apply --user demo --color 0 --texture 0 bench/demo/astronaut.jpg -o "$out/astronaut.stroke.png"
"$P" apply --user demo --strength 1.5 bench/demo/astronaut.jpg -o "$out/astronaut.x1.5.png"
echo "== done: the style samples are in $out/samples, the results in $out/ (the dials at a glance:"
echo "   $out/astronaut.preview.png)"
