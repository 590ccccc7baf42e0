//! The app's files under `assets/` — the interface fonts and the window icon — built into
//! the binary and loaded through Bevy's asset system from the `embedded://` source, so an
//! installed `deploysim` needs nothing beside it.
//!
//! The files are registered the way `embedded_asset!` registers them, under
//! `embedded://deploysim/…`; the macro itself derives a path from the source file's place
//! under `src/`, which a top-level `assets/` folder does not have. When a font has loaded
//! it is handed to egui as the first choice of its family (egui's own fonts stay behind it
//! as fallbacks, e.g. for emoji); when the icon has loaded it is set on the window.

use std::path::{Path, PathBuf};

use bevy::asset::RenderAssetUsages;
use bevy::asset::io::embedded::EmbeddedAssetRegistry;
use bevy::ecs::system::NonSendMarker;
use bevy::image::ImageLoaderSettings;
use bevy::prelude::*;
use bevy::render::render_resource::TextureFormat;
use bevy::window::PrimaryWindow;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass};

/// Every embedded file: its path under `embedded://` and its bytes.
const FILES: [(&str, &[u8]); 3] = [
    (UI_FONT, include_bytes!("../../assets/fonts/Ubuntu-Light.ttf")),
    (MONO_FONT, include_bytes!("../../assets/fonts/Hack-Regular.ttf")),
    (WINDOW_ICON, include_bytes!("../../assets/icons/deploysim.png")),
];

/// Ubuntu Light (Ubuntu Font Licence 1.0): the proportional text.
pub const UI_FONT: &str = "deploysim/fonts/Ubuntu-Light.ttf";
/// Hack (MIT, with the Bitstream Vera licence for its Vera parts): numbers and code.
pub const MONO_FONT: &str = "deploysim/fonts/Hack-Regular.ttf";
/// The window icon (drawn by `assets/icons/make_icon.py`).
pub const WINDOW_ICON: &str = "deploysim/icons/deploysim.png";

/// The loaded assets and what has been done with them.
#[derive(Resource, Debug)]
pub struct AppAssets {
    ui_font: Handle<Font>,
    mono_font: Handle<Font>,
    icon: Handle<Image>,
    /// egui has the fonts.
    pub fonts_installed: bool,
    /// The window shows the icon.
    pub icon_set: bool,
}

pub struct AssetsPlugin;

impl Plugin for AssetsPlugin {
    fn build(&self, app: &mut App) {
        let registry = app.world().resource::<EmbeddedAssetRegistry>();
        for (path, bytes) in FILES {
            registry.insert_asset(PathBuf::new(), Path::new(path), bytes);
        }
        let server = app.world().resource::<AssetServer>().clone();
        let icon = server
            .load_builder()
            .with_settings(|s: &mut ImageLoaderSettings| s.asset_usage = RenderAssetUsages::MAIN_WORLD)
            .load(format!("embedded://{WINDOW_ICON}"));
        app.insert_resource(AppAssets {
            ui_font: server.load(format!("embedded://{UI_FONT}")),
            mono_font: server.load(format!("embedded://{MONO_FONT}")),
            icon,
            fonts_installed: false,
            icon_set: false,
        })
        // egui applies new fonts from its next pass on, so no order among the UI systems.
        .add_systems(EguiPrimaryContextPass, install_fonts)
        .add_systems(Update, set_window_icon);
    }
}

/// Hands the fonts to egui once both have loaded.
fn install_fonts(mut assets: ResMut<AppAssets>, fonts: Res<Assets<Font>>, mut contexts: EguiContexts) -> Result {
    if assets.fonts_installed {
        return Ok(());
    }
    let (Some(ui), Some(mono)) = (fonts.get(&assets.ui_font), fonts.get(&assets.mono_font)) else {
        return Ok(());
    };
    let mut defs = egui::FontDefinitions::default();
    for (name, font, family) in
        [("deploysim-ui", ui, egui::FontFamily::Proportional), ("deploysim-mono", mono, egui::FontFamily::Monospace)]
    {
        defs.font_data.insert(name.into(), egui::FontData::from_owned(font.data.data().to_vec()).into());
        defs.families.entry(family).or_default().insert(0, name.into());
    }
    contexts.ctx_mut()?.set_fonts(defs);
    assets.fonts_installed = true;
    info!("interface fonts loaded from embedded://deploysim/fonts");
    Ok(())
}

/// Sets the icon on the primary window once it has loaded and the window exists.
fn set_window_icon(
    mut assets: ResMut<AppAssets>,
    images: Res<Assets<Image>>,
    window: Query<Entity, With<PrimaryWindow>>,
    _main_thread: NonSendMarker,
) {
    if assets.icon_set {
        return;
    }
    let (Some(image), Ok(entity)) = (images.get(&assets.icon), window.single()) else {
        return;
    };
    let Some(rgba) = image.convert(TextureFormat::Rgba8UnormSrgb).and_then(|i| i.data) else {
        error!("the window icon is not an RGBA image");
        assets.icon_set = true;
        return;
    };
    let size = image.size();
    let icon = match winit::window::Icon::from_rgba(rgba, size.x, size.y) {
        Ok(icon) => icon,
        Err(e) => {
            error!("the window icon is unusable: {e}");
            assets.icon_set = true;
            return;
        }
    };
    let set = bevy::winit::WINIT_WINDOWS
        .with_borrow(|windows| windows.get_window(entity).map(|w| w.set_window_icon(Some(icon))).is_some());
    if set {
        assets.icon_set = true;
        info!("window icon set from embedded://{WINDOW_ICON}");
    }
}
