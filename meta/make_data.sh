#!/usr/bin/env bash
# `make data`: builds data/photos/{train,val}/ and data/SOURCES.tsv from Debian packages, with
# `apt-get download` + `dpkg -x` (no install, works as a user). Only natural photographs are kept:
# the KEEP lists below were made by looking at every image of each package; vector art, abstract
# renders, drawings, paintings, screenshots, silhouettes and near-duplicates are left out. Never
# uses lomiri-wallpapers* or lxqt-themes (reserved for independent evaluation, see DATA.md), nor
# anything made with G'MIC or ImageMagick. Split: sha256 of the file, val when % 4 == 0 (a quarter;
# for a converted file, the hash of the file as the package ships it): of the 151 photos kept here,
# 35 are val (the 10 of the first 45 among them). PSTYLE_DATA=DIR builds in DIR instead of data/.
# Looked at and left out whole: ukui-wallpapers 20.04 (all renders), gnome-backgrounds 43 and
# xfdesktop4-data (renders), desktop-base and sway-backgrounds (artwork), jigzo-data (its photos are
# ~480 px puzzle-piece atlases), hugin-data, fotoxx-common and kanagram (screenshots, small
# examples), python3-imageio (the same astronaut/chelsea as python3-skimage), stellarium-data (its
# landscapes are panoramas with the sky cut out to transparency; the rest is sky art and textures).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${PSTYLE_DATA:-data}
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd) # absolute: some steps below run in other folders
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
SKI_KEEP="astronaut.png chelsea.png coffee.png rocket.jpg motorcycle_left.png camera.png hubble_deep_field.jpg"
# (left out: motorcycle_right, the stereo twin; brick/grass/gravel/coins, grayscale textures;
# retina/ihc/cell, medical; color/logo, synthetic)
SKL_DIR=usr/lib/python3/dist-packages/sklearn/datasets/images
SKL_KEEP="china.jpg flower.jpg" # CC-BY-2.0 by their README.txt
PAL_DIR=usr/share/palapeli/collection
# palapeli's puzzle photos, with the license each .desktop states (its backgrounds/ are tilings)
PAL_KEEP="castle-maintenon:GFDL cincinnati-bridge:public-domain citrus-fruits:public-domain
  european-honey-bee:public-domain panther-chameleon-female:GFDL"
TUX_DIR=usr/share/tuxpaint/templates
# Tux Paint's photo templates; left out: mossy_bark (a black letterbox band; burnt_bark is kept),
# the starters/ (drawn frames, one small reef photo) and the docs (screenshots)
TUX_KEEP="burnt_bark cliff corn_maze jellyfish lighthouse mossy_log mudstone ocean_splash ocean_waves
  redwoods_above rocks sheep spiders_web sun_behind_clouds sun_behind_leaves trees_above trees_at_dusk
  wool_mill_machine"
CV_DIR=usr/share/doc/opencv-doc/examples
# OpenCV's sample photos (its program is an external validation style; its photos are only photos).
# Left out: the synthetic or processed ones (pic1-6, gradient, *_motion, text_*,
# ela_modified, graf3, cards, digits, sudoku, chessboard, left/right calibration shots), gray ones
# (basketball*, box*, aero3), stereo/flow twins (aloeR, leuvenB, rubberwhale2), starry_night (a
# painting), butterfly and blox (under 500 px), orange (old scan, apple kept), HappyFish and the
# logos; among examples/, the segmented word crops but one, masks, the anime drawing, the map.
CV_KEEP="data/aero1.jpg data/aloeL.jpg data/apple.jpg data/baboon.jpg data/board.jpg data/building.jpg
  data/chicky_512.png data/ela_original.jpg data/fruits.jpg data/graf1.png data/home.jpg
  data/leuvenA.jpg data/messi5.jpg data/rubberwhale1.png data/squirrel_cls.jpg data/stuff.jpg
  text/scenetext01.jpg text/scenetext02.jpg text/scenetext03.jpg text/scenetext04.jpg
  text/scenetext05.jpg text/scenetext06.jpg text/scenetext_segmented_word01.jpg
  alphamat/input_images/plant.jpg"
JXL_DIR=usr/share/libjxl-testdata
# the photos among the JPEG XL test images (left out: the same flower at other sizes/encodings,
# the 64 px crops, wide-gamut test charts, pngsuite, splines and patches)
JXL_KEEP="jxl/flower/flower.png:BSD-3-clause-Google jxl/hdr_room.png:BSD-3-clause-Google
  external/wesaturate/500px/cvo9xd_keong_macan_srgb8.png:CC0
  external/wesaturate/500px/tmshre_riaphotographs_srgb8.png:CC0
  external/wesaturate/500px/u76c0g_bliznaca_srgb8.png:CC0"
# GCompris packs its images in Qt resource files (.rcc, read below) as WebP, which pstyle does not
# decode: the kept ones are converted to PNG with python3-pil (pixels unchanged, no resize).
# rcc name : path under its resource/. Left out: lang (drawings), babyshapes and the details
# paintings (paintings, white cut-outs), details' Taj Mahal/Neuschwanstein/Chenonceau/Gizah (the
# same monuments as explore_monuments), and for variety most of the 33 erase and 14 world animals
# (shallow-focus wildlife is plenty), 29 of the 46 monuments, the murkier sea photos and half the
# farm animals; castleClinton is black and white.
GC_KEEP="erase:penguin erase:giraffe erase:kingfisher erase:camels erase:kitten erase:red_panda
  erase:swans erase:horse erase:bee erase:dolphin erase:spoonbills erase:crab
  explore_world_animals:animals/polar_bear explore_world_animals:animals/koala
  explore_world_animals:animals/bison explore_world_animals:animals/panda
  explore_world_animals:animals/hedgehog explore_world_animals:animals/moose
  explore_farm_animals:animals/chicken explore_farm_animals:animals/cow
  explore_farm_animals:animals/dog
  explore_monuments:wonders/christTheRedeemer explore_monuments:wonders/colosseum
  explore_monuments:wonders/machuPicchu explore_monuments:wonders/petra
  explore_monuments:wonders/greatWallofChina explore_monuments:wonders/tajMahal
  explore_monuments:usa/statueofLiberty explore_monuments:usa/mountRushmore
  explore_monuments:india/hawaMahal explore_monuments:india/gatewayofIndia
  explore_monuments:india/goldenTemple explore_monuments:france/montStMichel
  explore_monuments:france/eiffelTower explore_monuments:france/chateaudeChenonceau
  explore_monuments:germany/berlinCathedral explore_monuments:germany/brandenburgGate
  explore_monuments:egypt/greatPyramidOfGiza
  details:image/OperaSidney_background details:image/Louvre_2007_02_24_c_background
  details:image/TowerBridgeLondon_background details:image/EilanDonanCastle_background
  details:image/EgeskovSlotSpejling_background
  explore_world_music:music/mexico explore_world_music:music/japan
  explore_world_music:music/orchestra explore_world_music:music/america
  explore_world_music:music/australia explore_world_music:music/africa
  clickgame:sea3 clickgame:sea5"

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

add() { # add SRC PKG LICENSE NAME [HASHED]: copy into the split chosen by the content hash (of
  # HASHED when given: the shipped file SRC was converted from), record the source
  local src=$1 pkg=$2 lic=$3 name=$4 hashed=${5:-$1} ext h split
  ext=${src##*.}
  h=$(sha256sum "$hashed" | cut -c1-8)
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
      (cd "$CACHE/edj" && edje_decc "$CACHE/x/enlightenment-data/$E_DIR/$n.edj" >/dev/null 2>&1) ||
        { echo "make data: edje_decc failed on $n.edj; skipping it" >&2; continue; }
    fi
    f=$(pick_size "$CACHE/edj/$n")
    [ -n "$f" ] && add "$CACHE/edj/$n/$f" enlightenment-data BSD-2-clause "$n"
  done
fi

if fetch python3-sklearn; then
  for f in $SKL_KEEP; do add "$CACHE/x/python3-sklearn/$SKL_DIR/$f" python3-sklearn CC-BY-2.0 "${f%.*}"; done
fi

if fetch palapeli-data; then
  for e in $PAL_KEEP; do
    add "$CACHE/x/palapeli-data/$PAL_DIR/${e%%:*}.jpg" palapeli-data "${e#*:}" "${e%%:*}"
  done
fi

if fetch tuxpaint-data; then
  for n in $TUX_KEEP; do add "$CACHE/x/tuxpaint-data/$TUX_DIR/$n.jpg" tuxpaint-data GPL-2+ "$n"; done
fi

if fetch opencv-doc; then
  for f in $CV_KEEP; do
    n=${f##*/}
    add "$CACHE/x/opencv-doc/$CV_DIR/$f" opencv-doc "Apache-2.0 AND BSD-3-Clause" "${n%.*}"
  done
fi

if fetch libjxl-testdata; then
  for e in $JXL_KEEP; do
    f=${e%%:*} n=${f##*/}
    n=${n%.png}
    add "$CACHE/x/libjxl-testdata/$JXL_DIR/$f" libjxl-testdata "${e#*:}" "${n%_srgb8}"
  done
fi

# python3-pil, for GCompris's WebP: the system's, else the package unpacked in the cache (it needs
# only libraries a desktop has), else installed when root; without it GCompris is skipped.
PIL_OK='from PIL import Image, features; assert features.check("webp")'
PILPATH=
if ! python3 -c "$PIL_OK" 2>/dev/null; then
  if fetch python3-pil && PYTHONPATH="$CACHE/x/python3-pil/usr/lib/python3/dist-packages" python3 -c "$PIL_OK" 2>/dev/null; then
    PILPATH="$CACHE/x/python3-pil/usr/lib/python3/dist-packages"
  elif [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pil >/dev/null 2>&1 || true
  fi
fi
if ! PYTHONPATH="$PILPATH" python3 -c "$PIL_OK" 2>/dev/null; then
  echo "make data: python3-pil (with WebP) is not available; skipping gcompris-qt-data" >&2
elif fetch gcompris-qt-data; then
  GC_OUT=$CACHE/gcompris
  rm -rf "$GC_OUT" && mkdir -p "$GC_OUT"
  # Reads Qt's .rcc layout (header "qres", version, then offsets of the tree, data and names; a
  # tree node: name offset, flags (1 zlib, 2 folder, 4 zstd), then child count + first child, or
  # locale + data offset; version >= 2 adds an 8-byte date) and writes, for each kept image,
  # RCC-NAME.webp (the bytes as shipped) and RCC-NAME.png (decoded, same pixels).
  PYTHONPATH="$PILPATH" python3 - "$CACHE/x/gcompris-qt-data/usr/share/gcompris-qt/rcc" "$GC_OUT" $GC_KEEP <<'EOF'
import io, os, struct, sys, zlib
from PIL import Image
rccdir, out, keep = sys.argv[1], sys.argv[2], sys.argv[3:]
want = {}
for k in keep:
    rcc, rel = k.split(':', 1)
    want.setdefault(rcc, set()).add('resource/' + rel + '.webp')
def files(b):
    assert b[:4] == b'qres', 'not a Qt resource file'
    ver, tree, data, names = struct.unpack('>IIII', b[4:20])
    size = 14 if ver == 1 else 22
    def name(off):
        n, = struct.unpack('>H', b[names + off:names + off + 2])
        return b[names + off + 6:names + off + 6 + 2 * n].decode('utf-16-be')
    def node(i, path):
        o = tree + i * size
        noff, flags = struct.unpack('>IH', b[o:o + 6])
        if i:
            path = path + '/' + name(noff)
        if flags & 2:
            count, first = struct.unpack('>II', b[o + 6:o + 14])
            for c in range(count):
                yield from node(first + c, path)
            return
        doff, = struct.unpack('>I', b[o + 10:o + 14])
        n, = struct.unpack('>I', b[data + doff:data + doff + 4])
        raw = b[data + doff + 4:data + doff + 4 + n]
        if flags & 4:
            raise ValueError(path + ': zstd-compressed')
        yield path, (zlib.decompress(raw[4:]) if flags & 1 else raw)
    yield from node(0, '')
for rcc, rels in sorted(want.items()):
    b = open(os.path.join(rccdir, rcc + '.rcc'), 'rb').read()
    found = set()
    for path, raw in files(b):
        rel = path[path.find('/resource/') + 1:] if '/resource/' in path else None
        if rel not in rels:
            continue
        found.add(rel)
        stem = os.path.join(out, rcc + '-' + os.path.basename(rel)[:-5].replace('_background', ''))
        open(stem + '.webp', 'wb').write(raw)
        Image.open(io.BytesIO(raw)).convert('RGB').save(stem + '.png')
    for rel in sorted(rels - found):
        print('make data: %s.rcc has no %s; skipping it' % (rcc, rel), file=sys.stderr)
EOF
  for f in "$GC_OUT"/*.png; do
    [ -e "$f" ] || continue
    n=${f##*/}
    add "$f" gcompris-qt-data GPL-3+ "${n%.png}" "${f%.png}.webp"
  done
fi

mv "$DATA/SOURCES.tsv.tmp" "$DATA/SOURCES.tsv"
echo "make data: $(ls "$OUT/train" | wc -l) train + $(ls "$OUT/val" | wc -l) val photos in $OUT; per package:"
tail -n +2 "$DATA/SOURCES.tsv" | cut -f2 | sort | uniq -c | sed 's/^/  /'
