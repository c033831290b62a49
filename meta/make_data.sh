#!/usr/bin/env bash
# `make data`: builds data/photos/{train,val}/ and data/SOURCES.tsv from Debian packages, with
# `apt-get download` + `dpkg -x` (no install, works as a user). Only natural photographs are kept:
# the KEEP lists below were made by looking at every image of each package; vector art, abstract
# renders, drawings and silhouettes are left out. Never uses lomiri-wallpapers* or lxqt-themes
# (reserved for independent evaluation, see DATA.md). Split: sha256 of the file, val when % 4 == 0
# (a quarter: of the 45 photos kept here, 10 are val, enough for disjoint K=5 + Q=4 episodes).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DATA=${PSTYLE_DATA:-data}
CACHE=$DATA/.cache
OUT=$DATA/photos
mkdir -p "$CACHE/debs"

# package | license | files to keep (paths relative to the package root; for enlightenment-data
# the .edj theme names, unpacked with edje_decc)
MATE_DIR=usr/share/backgrounds/mate/nature
MATE_KEEP="Aqua Blinds Dune FreshFlower Garden GreenMeadow LadyBird RainDrops Storm TwoWings Wood YellowFlower"
PLASMA_DIR=usr/share/wallpapers
# left out as non-photographic: Altai Autumn Canopee Cascade Cluster Elarun Flow FlyingKonqui
# Honeywave IceCold Kay Kokkini Opal PastelHills Patak SafeLanding Shell
PLASMA_KEEP="BytheWater ColdRipple ColorfulCups DarkestHour EveningGlow FallenLeaf Grey Kite MilkyWay OneStandsOut Path summer_1am Volna"
E_DIR=usr/share/enlightenment/data/backgrounds
# left out: Dunes Flat-Fan Sunset-Hills (vector), Paper-Flower (drawing), Squiggle* (abstract),
# Flat-Stone-Pattern (a dark tiling pattern)
E_KEEP="Bamboo Foggy-Trees God-Rays Green-Maple Lichen-Branches Mountain Peaks Red-Maple Sea-of-Lanterns Snow-Trees Spruce-Needles Sunset-Clouds White-Flower Yellow-Flower"
SKI_DIR=usr/lib/python3/dist-packages/skimage/data
# the natural photographs among scikit-image's samples (camera is grayscale)
SKI_KEEP="astronaut.png chelsea.png coffee.png rocket.jpg motorcycle_left.png camera.png"

fetch() { # fetch PKG -> extracts into $CACHE/x/PKG, prints nothing; returns 1 if unavailable
  local pkg=$1 deb
  deb=$(ls "$CACHE"/debs/"${pkg}"_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ]; then
    if ! (cd "$CACHE/debs" && apt-get download -q "$pkg" >/dev/null 2>&1); then
      if [ "$(id -u)" = 0 ]; then apt-get update -qq >/dev/null 2>&1 || true; fi
      (cd "$CACHE/debs" && apt-get download -q "$pkg" >/dev/null 2>&1) || {
        echo "make data: cannot download $pkg (run 'apt-get update' as root?); skipping it" >&2; return 1; }
    fi
    deb=$(ls "$CACHE"/debs/"${pkg}"_*.deb | head -1)
  fi
  if [ ! -d "$CACHE/x/$pkg" ]; then
    mkdir -p "$CACHE/x/$pkg.tmp"
    dpkg -x "$deb" "$CACHE/x/$pkg.tmp"
    mv "$CACHE/x/$pkg.tmp" "$CACHE/x/$pkg"
  fi
  VERSION=$(dpkg-deb -f "$deb" Version)
}

# Among files named like [img-]WxH.ext in a folder, the landscape one with the smallest width
# >= 1280 (plenty for a 512 px working size, and quick to decode), else the widest.
pick_size() {
  ls "$1" | sed -n 's/^\(img-\)\{0,1\}\([0-9]*\)x\([0-9]*\)\.\(png\|jpg\|jpeg\)$/\2 \3 &/p' |
    awk '$1 >= $2 { if ($1 >= 1280) print 0, $1, $3; else print 1, -$1, $3 }' | sort -n -k1,1 -k2,2 | head -1 | cut -d' ' -f3
}

rm -rf "$OUT" "$DATA/SOURCES.tsv.tmp"
mkdir -p "$OUT/train" "$OUT/val"
printf 'file\tpackage\tversion\tlicense\n' > "$DATA/SOURCES.tsv.tmp"

add() { # add SRC PKG LICENSE NAME: copy into the split chosen by the content hash, record the source
  local src=$1 pkg=$2 lic=$3 name=$4 ext h split
  ext=${src##*.}
  h=$(sha256sum "$src" | cut -c1-8)
  if [ $((16#$h % 4)) = 0 ]; then split=val; else split=train; fi
  cp "$src" "$OUT/$split/${pkg}__${name}.${ext,,}"
  printf '%s\t%s\t%s\t%s\n' "$split/${pkg}__${name}.${ext,,}" "$pkg" "$VERSION" "$lic" >> "$DATA/SOURCES.tsv.tmp"
}

if fetch mate-backgrounds; then
  for n in $MATE_KEEP; do add "$CACHE/x/mate-backgrounds/$MATE_DIR/$n.jpg" mate-backgrounds GPL-2+ "$n"; done
fi

if fetch plasma-workspace-wallpapers; then
  for n in $PLASMA_KEEP; do
    d="$CACHE/x/plasma-workspace-wallpapers/$PLASMA_DIR/$n/contents/images"
    f=$(pick_size "$d")
    [ -n "$f" ] && add "$d/$f" plasma-workspace-wallpapers GPL-2+ "$n"
  done
fi

if fetch python3-skimage; then
  for f in $SKI_KEEP; do add "$CACHE/x/python3-skimage/$SKI_DIR/$f" python3-skimage BSD-3-clause "${f%.*}"; done
fi

# enlightenment-data packs its photos in .edj themes: edje_decc (libedje-bin) unpacks them
if ! command -v edje_decc >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libedje-bin >/dev/null 2>&1 || true
fi
if ! command -v edje_decc >/dev/null 2>&1; then
  echo "make data: edje_decc (libedje-bin) is not installed and cannot be as a user; skipping enlightenment-data" >&2
elif fetch enlightenment-data; then
  mkdir -p "$CACHE/edj"
  for n in $E_KEEP; do
    if [ ! -d "$CACHE/edj/$n" ]; then
      (cd "$CACHE/edj" && edje_decc "$ROOT/$CACHE/x/enlightenment-data/$E_DIR/$n.edj" >/dev/null 2>&1) ||
        { echo "make data: edje_decc failed on $n.edj; skipping it" >&2; continue; }
    fi
    f=$(pick_size "$CACHE/edj/$n")
    [ -n "$f" ] && add "$CACHE/edj/$n/$f" enlightenment-data BSD-2-clause "$n"
  done
fi

mv "$DATA/SOURCES.tsv.tmp" "$DATA/SOURCES.tsv"
echo "make data: $(ls "$OUT/train" | wc -l) train + $(ls "$OUT/val" | wc -l) val photos in $OUT; per package:"
tail -n +2 "$DATA/SOURCES.tsv" | cut -f2 | sort | uniq -c | sed 's/^/  /'
