//! The rest of the picture, drawn with gizmos every frame: users on the left coloured by
//! what they last experienced, the router with its split in the middle, flows to each
//! pool, and a sample of requests as particles (failures red, mirrored copies purple,
//! never returning). At high speed only the flows are drawn.

use bevy::prelude::*;

use super::fleet_view::{FleetHidden, InstanceEntities, InstanceView, SceneRect, layout_pools, pool_color};
use super::session::Session;
use crate::des::rng::mix64;
use crate::des::time::Time as SimTime;
use crate::metrics::Outcome;
use crate::model::fleet::POOLS;

/// Number of user dots.
pub const USER_DOTS: usize = 480;
/// Above this speed, particles give way to aggregate flows.
pub const PARTICLE_SPEED_LIMIT: f64 = 120.0;

/// What each user dot last experienced.
#[derive(Resource)]
pub struct UserDots {
    pub colors: Vec<Color>,
    seen_until: SimTime,
}

impl Default for UserDots {
    fn default() -> Self {
        UserDots { colors: vec![Color::srgb(0.35, 0.37, 0.42); USER_DOTS], seen_until: SimTime::ZERO }
    }
}

pub fn outcome_color(outcome: Outcome, pool: Option<u8>, new_code: bool) -> Color {
    match (outcome, pool) {
        (Outcome::Success, Some(p)) => {
            if new_code {
                pool_color(crate::model::fleet::NEW)
            } else {
                pool_color(if p == crate::model::fleet::BASELINE { p } else { crate::model::fleet::STABLE })
            }
        }
        _ => Color::srgb(0.95, 0.20, 0.20),
    }
}

/// Positions of the scene's fixed parts.
pub struct SceneLayout {
    pub users: Rect,
    pub router: Vec2,
}

pub fn scene_layout(area: &SceneRect) -> SceneLayout {
    let w = area.width();
    SceneLayout {
        users: Rect::from_corners(
            Vec2::new(area.min.x + 12.0, area.min.y + 12.0),
            Vec2::new(area.min.x + 0.26 * w, area.max.y - 30.0),
        ),
        router: Vec2::new(area.min.x + 0.355 * w, (area.min.y + area.max.y) / 2.0),
    }
}

/// Where user dot `k` sits.
pub fn user_dot(users: Rect, k: usize) -> Vec2 {
    let cols = 16usize;
    let rows = USER_DOTS.div_ceil(cols);
    let (c, r) = (k % cols, k / cols);
    let jitter = |salt: u64| ((mix64(k as u64 ^ salt) >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.7;
    let x = users.min.x + (c as f32 + 0.5 + jitter(1)) * users.width() / cols as f32;
    let y = users.max.y - (r as f32 + 0.5 + jitter(2)) * users.height() / rows as f32;
    Vec2::new(x, y)
}

pub fn dot_of_user(user: u32) -> usize {
    (mix64(user as u64) % USER_DOTS as u64) as usize
}

pub struct ScenePlugin;

impl Plugin for ScenePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<UserDots>().add_systems(PostUpdate, (update_user_dots, draw_scene).chain());
    }
}

fn update_user_dots(session: Res<Session>, mut dots: ResMut<UserDots>) {
    let recent = session.sim.recent();
    if session.sim.now() < dots.seen_until {
        *dots = UserDots::default();
    }
    let since = dots.seen_until;
    for r in recent.iter().rev().take_while(|r| r.end > since) {
        if !r.shadow {
            dots.colors[dot_of_user(r.user)] = outcome_color(r.outcome, r.pool, r.new_code);
        }
    }
    dots.seen_until = recent.back().map_or(since, |r| r.end.max(since));
}

fn draw_scene(
    mut gizmos: Gizmos,
    session: Res<Session>,
    area: Res<SceneRect>,
    hidden: Res<FleetHidden>,
    dots: Res<UserDots>,
    entities: Res<InstanceEntities>,
    instances: Query<&Transform, With<InstanceView>>,
) {
    if hidden.0 {
        return;
    }
    let layout = scene_layout(&area);
    for (k, color) in dots.colors.iter().enumerate() {
        gizmos.circle_2d(user_dot(layout.users, k), 2.2, *color).resolution(6);
    }
    let sim = &session.sim;
    let fleet = sim.fleet();
    // The router and its flows to each pool, brighter with a larger share.
    gizmos.circle_2d(layout.router, 26.0, Color::srgb(0.85, 0.85, 0.90));
    let mut counts = [0usize; POOLS];
    for &id in &fleet.active {
        counts[fleet.instances[id as usize].version as usize] += 1;
    }
    let bands = layout_pools(area.fleet(), counts);
    let shares = sim.router().shares(fleet);
    for band in &bands {
        let share = shares[band.pool as usize] as f32;
        let target = Vec2::new(band.rect.min.x - 6.0, (band.rect.min.y + band.rect.max.y) / 2.0);
        let color = pool_color(band.pool).with_alpha(0.12 + 0.88 * share);
        for d in 0..(1 + (share * 6.0) as i32) {
            let off = Vec2::new(0.0, d as f32 * 1.5);
            gizmos.line_2d(layout.router + off, target + off, color);
        }
        gizmos.rect_2d(
            (band.rect.min + band.rect.max) / 2.0,
            band.rect.max - band.rect.min,
            pool_color(band.pool).with_alpha(0.35),
        );
    }
    if sim.router().mirror > 0.0
        && let Some(b) = bands.iter().find(|b| b.pool == crate::model::fleet::NEW)
    {
        let target = Vec2::new(b.rect.min.x - 6.0, b.rect.min.y + 10.0);
        gizmos.line_2d(layout.router, target, Color::srgb(0.70, 0.35, 0.95));
    }
    gizmos.line_2d(
        Vec2::new(layout.users.max.x + 6.0, layout.router.y),
        layout.router - Vec2::new(26.0, 0.0),
        Color::srgb(0.6, 0.6, 0.65),
    );
    if session.speed > PARTICLE_SPEED_LIMIT {
        return;
    }
    // Particles: sampled requests that ended within the last ~0.6 s of real time.
    let window = SimTime::from_secs_f64((session.speed * 0.6).max(0.3));
    let now = sim.now();
    let from = now.saturating_sub(window);
    for r in sim.recent().iter().rev().take(500).take_while(|r| r.end >= from) {
        let age = (now - r.end).as_secs_f64() / window.as_secs_f64();
        let t = (1.0 - age).clamp(0.0, 1.0) as f32;
        let user = user_dot(layout.users, dot_of_user(r.user));
        let inst = r
            .instance
            .and_then(|i| entities.0.get(i as usize).copied().flatten())
            .and_then(|e| instances.get(e).ok())
            .map(|tr| tr.translation.truncate());
        let failed = r.outcome.failed();
        let color = if r.shadow { Color::srgb(0.70, 0.35, 0.95) } else { outcome_color(r.outcome, r.pool, r.new_code) };
        let pos = match inst {
            Some(p) if r.shadow => layout.router.lerp(p, t),
            Some(_) if t < 0.5 => user.lerp(layout.router, t * 2.0),
            Some(p) if !failed => layout.router.lerp(p, (t - 0.5) * 2.0),
            Some(p) => p,
            None => layout.router,
        };
        let radius = if failed { 3.5 + 3.0 * t } else { 2.0 };
        gizmos.circle_2d(pos, radius, color).resolution(8);
    }
}
