//! What can go wrong while drawing charts and writing reports and figures.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// plotters could not draw a chart (its error is generic over the backend, so it is
    /// kept as its text).
    #[error("chart: {0}")]
    Draw(String),
    /// The chart's SVG does not parse for rasterising.
    #[error("svg: {0}")]
    Svg(#[from] resvg::usvg::Error),
    /// A chart of no pixels.
    #[error("empty chart")]
    EmptyChart,
    /// The PNG encoder failed.
    #[error("png: {0}")]
    Png(String),
    #[error("cannot create {}: {source}", .path.display())]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot write {}: {source}", .path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

impl ReportError {
    /// A drawing error of plotters.
    pub fn draw(e: impl std::fmt::Display) -> Self {
        ReportError::Draw(e.to_string())
    }

    /// [`std::fs::create_dir_all`] with this error.
    pub fn create_dir(path: &std::path::Path) -> Result<(), ReportError> {
        std::fs::create_dir_all(path).map_err(|source| ReportError::CreateDir { path: path.to_path_buf(), source })
    }

    /// [`std::fs::write`] with this error.
    pub fn write(path: &std::path::Path, bytes: impl AsRef<[u8]>) -> Result<(), ReportError> {
        std::fs::write(path, bytes).map_err(|source| ReportError::Write { path: path.to_path_buf(), source })
    }
}
